# From nixpkgs nixos/modules/system/boot/systemd/tmpfiles.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. rules and settings (the tmpfiles.d entry
# submodule); packages and the generated files are not modelled.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  attrsWith' =
    placeholder: elemType:
    types.attrsWith {
      inherit elemType placeholder;
    };
in
{
  options.systemd.tmpfiles = {
    rules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "d /tmp 1777 root root 10d" ];
      description = "Rules for creation, deletion and cleaning of volatile and temporary files automatically.";
    };

    settings = mkOption {
      description = "Declare systemd-tmpfiles rules to create, delete, and clean up volatile and temporary files and directories.";
      default = { };
      type = attrsWith' "config-name" (
        attrsWith' "path" (
          attrsWith' "tmpfiles-type" (
            types.submodule (
              { name, config, ... }:
              {
                options.type = mkOption {
                  type = types.str;
                  default = name;
                  example = "d";
                  description = "The type of operation to perform on the file.";
                };
                options.mode = mkOption {
                  type = types.str;
                  default = "-";
                  example = "0755";
                  description = "The file access mode to use when creating this file or directory.";
                };
                options.user = mkOption {
                  type = types.str;
                  default = "-";
                  example = "root";
                  description = "The user of the file.";
                };
                options.group = mkOption {
                  type = types.str;
                  default = "-";
                  example = "root";
                  description = "The group of the file.";
                };
                options.age = mkOption {
                  type = types.str;
                  default = "-";
                  example = "10d";
                  description = "Delete a file when it reaches a certain age.";
                };
                options.argument = mkOption {
                  type = types.str;
                  default = "";
                  example = "";
                  description = "An argument whose meaning depends on the type of operation.";
                };
              }
            )
          )
        )
      );
    };
  };
}
