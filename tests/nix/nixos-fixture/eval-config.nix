# ======================================================================
# TEST FIXTURE -- NOT NIXPKGS.
# Stands in for nixpkgs' nixos/lib/eval-config.nix (and lib.nixosSystem,
# which calls it with system = null unless given): evaluates NixOS modules
# with the real module system (lib.evalModules, class "nixos") over the
# fixture's option modules (module-list.nix) instead of nixpkgs'
# nixos/modules/module-list.nix.
#
#   import ./eval-config.nix { inherit lib; } {
#     modules = [ ... ];
#     specialArgs ? { };     # merged over { modulesPath = <fixture dir>; }
#     system ? null;         # as eval-config.nix: nixpkgs.system = mkDefault system
#     prefix ? [ ];
#   }
#
# Like eval-config.nix, the result is the evalModules result (.config,
# .options, ._module, .type, .extendModules, ...) plus .pkgs
# (config._module.args.pkgs) and .lib; extendModules keeps adding them.
# The base modules are evaluated first and the user modules added with
# extendModules (noUserModules.extendModules), as eval-config.nix does, so
# the module arguments noUserModules, baseModules, extraModules and modules
# exist (specialisation uses noUserModules).
# ======================================================================
{ lib }:
evalConfigArgs@{
  modules,
  specialArgs ? { },
  system ? null,
  prefix ? [ ],
  # Where nixosSystem's caller is, for error messages of inline modules.
  modulesLocation ? (builtins.unsafeGetAttrPos "modules" evalConfigArgs).file or null,
  ...
}:
let
  pkgsModule = rec {
    _file = ./eval-config.nix;
    key = _file;
    config = lib.mkMerge (
      lib.optional (system != null) {
        # Explicit `nixpkgs.system` or `nixpkgs.localSystem` should override
        # this (nixos/lib/eval-config.nix).
        nixpkgs.system = lib.mkDefault system;
      }
    );
  };

  baseModules = import ./module-list.nix ++ [ pkgsModule ];
  extraModules = [ ];

  modulesModule = {
    config._module.args = {
      inherit
        noUserModules
        baseModules
        extraModules
        modules
        ;
    };
  };

  locatedModules =
    if modulesLocation == null then
      modules
    else
      map (lib.setDefaultModuleLocation modulesLocation) modules;

  noUserModules = lib.evalModules {
    class = "nixos";
    inherit prefix;
    # nixpkgs passes modulesPath = nixos/modules; here the fixture's option
    # modules (a `modulesPath + "/profiles/..."` import fails, as it should:
    # the fixture has no profiles).
    specialArgs = {
      modulesPath = toString ./options;
    }
    // specialArgs;
    modules = baseModules ++ extraModules ++ [ modulesModule ];
  };

  nixosWithUserModules = noUserModules.extendModules { modules = locatedModules; };

  withExtraAttrs =
    configuration:
    configuration
    // {
      inherit (configuration._module.args) pkgs;
      inherit lib;
      extendModules = args: withExtraAttrs (configuration.extendModules args);
    };
in
withExtraAttrs nixosWithUserModules
