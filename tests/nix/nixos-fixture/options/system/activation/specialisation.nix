# From nixpkgs nixos/modules/system/activation/specialisation.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. The child configurations are built as there
# (extendModules, or noUserModules.extendModules without
# inheritParentConfig, plus no-clone.nix); their toplevels are recorded in
# the parent's toplevel (system/activation/top-level.nix).
{
  config,
  lib,
  extendModules,
  noUserModules,
  ...
}:
let
  inherit (lib) mkOption types;

  # nixos/modules/system/activation/no-clone.nix
  noClone = {
    boot.loader.grub.device = lib.mkOverride 0 "nodev";
    specialisation = lib.mkOverride 0 { };
  };
in
{
  options = {
    specialisation = mkOption {
      default = { };
      example = lib.literalExpression "{ fewJobsManyCores.configuration = { nix.settings = { core = 0; max-jobs = 1; }; }; }";
      description = ''
        Additional configurations to build. If
        `inheritParentConfig` is true, the system
        will be based on the overall system configuration.
      '';
      type = types.attrsOf (
        types.submodule (
          local@{ ... }:
          let
            extend = if local.config.inheritParentConfig then extendModules else noUserModules.extendModules;
          in
          {
            options.inheritParentConfig = mkOption {
              type = types.bool;
              default = true;
              description = "Include the entire system's configuration. Set to false to make a completely differently configured system.";
            };

            options.configuration = mkOption {
              default = { };
              description = ''
                Arbitrary NixOS configuration.
              '';
              visible = "shallow";
              inherit (extend { modules = [ noClone ]; }) type;
            };
          }
        )
      );
    };
  };
}
