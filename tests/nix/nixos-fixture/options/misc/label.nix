# From nixpkgs nixos/modules/misc/label.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS.
{ config, lib, ... }:
let
  inherit (lib)
    concatStringsSep
    maybeEnv
    mkDefault
    mkOption
    sort
    types
    ;
  cfg = config.system.nixos;
in
{
  options.system = {
    nixos.label = mkOption {
      type = types.strMatching "[a-zA-Z0-9:_\\.-]*";
      description = ''
        NixOS version name to be used in the names of generated
        outputs and boot labels.
      '';
    };

    nixos.tags = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "with-xen" ];
      description = "Strings to prefix to the default {option}`system.nixos.label`.";
    };
  };

  config = {
    # This is set here rather than up there so that changing it would
    # not rebuild the manual
    system.nixos.label = mkDefault (
      maybeEnv "NIXOS_LABEL" (
        concatStringsSep "-" ((sort (x: y: x < y) cfg.tags) ++ [ (maybeEnv "NIXOS_LABEL_VERSION" cfg.version) ])
      )
    );
  };
}
