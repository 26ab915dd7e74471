# From nixpkgs nixos/modules/config/nix.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. nix.settings (a submodule with the freeform
# type semanticConfType and the declared settings, as there) and
# nix.extraOptions; nix.conf itself is not generated.
{ config, lib, ... }:
let
  inherit (lib) mkOption types literalExpression;

  semanticConfType =
    with types;
    let
      confAtom =
        nullOr (oneOf [
          bool
          int
          float
          str
          path
          package
        ])
        // {
          description = "Nix config atom (null, bool, int, float, str, path or package)";
        };
    in
    attrsOf (either confAtom (listOf confAtom));
in
{
  options.nix = {
    extraOptions = mkOption {
      type = types.lines;
      default = "";
      description = "Additional text appended to {file}`nix.conf`.";
    };

    settings = mkOption {
      type = types.submodule {
        freeformType = semanticConfType;

        options = {
          max-jobs = mkOption {
            type = types.either types.int (types.enum [ "auto" ]);
            default = "auto";
            example = 64;
            description = "This option defines the maximum number of jobs that Nix will try to build in parallel.";
          };

          auto-optimise-store = mkOption {
            type = types.bool;
            default = false;
            example = true;
            description = "If set to true, Nix automatically detects files in the store that have identical contents.";
          };

          cores = mkOption {
            type = types.int;
            default = 0;
            example = 64;
            description = "This option defines the maximum number of concurrent tasks during one build.";
          };

          sandbox = mkOption {
            type = types.either types.bool (types.enum [ "relaxed" ]);
            default = true;
            description = "If set, Nix will perform builds in a sandboxed environment.";
          };

          extra-sandbox-paths = mkOption {
            type = types.listOf types.str;
            default = [ ];
            example = [
              "/dev"
              "/proc"
            ];
            description = "Directories from the host filesystem to be included in the sandbox.";
          };

          substituters = mkOption {
            type = types.listOf types.str;
            description = "List of binary cache URLs used to obtain pre-built binaries of Nix packages.";
          };

          trusted-substituters = mkOption {
            type = types.listOf types.str;
            default = [ ];
            example = [ "https://hydra.nixos.org/" ];
            description = "List of binary cache URLs that non-root users can use.";
          };

          system-features = mkOption {
            type = types.listOf types.str;
            description = "The set of features supported by the machine.";
          };

          allowed-users = mkOption {
            type = types.listOf types.str;
            default = [ "*" ];
            example = [
              "@wheel"
              "@builders"
              "alice"
              "bob"
            ];
            description = "A list of names of users (separated by whitespace) that are allowed to connect to the Nix daemon.";
          };

          trusted-users = mkOption {
            type = types.listOf types.str;
            example = [
              "root"
              "alice"
              "@wheel"
            ];
            description = "A list of names of users that have additional rights when connecting to the Nix daemon.";
          };
        };
      };
      default = { };
      example = literalExpression ''
        {
          use-sandbox = true;
          show-trace = true;

          system-features = [ "big-parallel" "kvm" "recursive-nix" ];
          sandbox-paths = [ "/bin/sh=''${pkgs.busybox-sandbox-shell.out}/bin/busybox" ];
        }
      '';
      description = "Configuration for Nix, see <https://nixos.org/manual/nix/stable/command-ref/conf-file.html>.";
    };
  };

  config = {
    nix.settings = {
      trusted-users = [ "root" ];
      substituters = lib.mkAfter [ "https://cache.nixos.org/" ];
      system-features = lib.mkDefault [
        "nixos-test"
        "benchmark"
        "big-parallel"
        "kvm"
      ];
    };
  };
}
