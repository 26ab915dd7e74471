# From nixpkgs nixos/modules/system/etc/etc.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. environment.etc (the entry submodule with its
# text -> source derivation) and system.etc.overlay.enable; system.build.etc
# is a fixture derivation of the enabled entries (not make-etc.sh).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkDefault mkIf mkOption types;
  etc' = lib.filter (f: f.enable) (lib.attrValues config.environment.etc);
in
{
  options = {
    system.etc.overlay = {
      enable = mkOption {
        type = types.bool;
        default = false;
        description = "Mount `/etc` as an overlayfs instead of generating it via a perl script.";
      };
      mutable = mkOption {
        type = types.bool;
        default = true;
        description = "Whether to mount `/etc` mutably (i.e. read-write) or immutably (i.e. read-only).";
      };
    };

    environment.etc = mkOption {
      default = { };
      example = lib.literalExpression ''
        { example-configuration-file =
            { source = "/nix/store/.../etc/dir/file.conf.example";
              mode = "0440";
            };
          "default/useradd".text = "GROUP=100 ...";
        }
      '';
      description = "Set of files that have to be linked in {file}`/etc`.";
      type = types.attrsOf (
        types.submodule (
          {
            name,
            config,
            options,
            ...
          }:
          {
            options = {
              enable = mkOption {
                type = types.bool;
                default = true;
                description = "Whether this /etc file should be generated.";
              };
              target = mkOption {
                type = types.str;
                description = "Name of symlink (relative to {file}`/etc`). Defaults to the attribute name.";
              };
              text = mkOption {
                default = null;
                type = types.nullOr types.lines;
                description = "Text of the file.";
              };
              source = mkOption {
                type = types.path;
                description = "Path of the source file.";
              };
              mode = mkOption {
                type = types.str;
                default = "symlink";
                example = "0600";
                description = "If set to something else than `symlink`, the file is copied instead of symlinked, with the given file mode.";
              };
              uid = mkOption {
                default = 0;
                type = types.int;
                description = "UID of created file. Only takes effect when the file is copied (that is, the mode is not 'symlink').";
              };
              gid = mkOption {
                default = 0;
                type = types.int;
                description = "GID of created file. Only takes effect when the file is copied (that is, the mode is not 'symlink').";
              };
              user = mkOption {
                default = "+${toString config.uid}";
                type = types.str;
                description = "User name of file owner.";
              };
              group = mkOption {
                default = "+${toString config.gid}";
                type = types.str;
                description = "Group name of file owner.";
              };
            };

            config = {
              target = mkDefault name;
              source = mkIf (config.text != null) (
                let
                  name' = "etc-" + lib.replaceStrings [ "/" ] [ "-" ] name;
                in
                lib.mkDerivedConfig options.text (pkgs.writeText name')
              );
            };
          }
        )
      );
    };
  };

  config = {
    system.build.etc = pkgs.runCommand "etc" {
      entries = map (f: "${f.target}=${f.source}:${f.mode}") etc';
    } "# nixos-fixture: stands in for make-etc.sh; never built";
  };
}
