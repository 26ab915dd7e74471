# From nixpkgs nixos/modules/misc/nixpkgs.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Simplified: the package set is the fixture's
# (../../pkgs.nix) instead of `import ../../.. { ... }`; with
# nixpkgs.hostPlatform defined it is built for hostPlatform/buildPlatform,
# otherwise for localSystem/crossSystem (nixpkgs.system), as in nixpkgs.
# Of the assertions only the legacy-options one is kept.
{
  config,
  options,
  lib,
  ...
}:
let
  cfg = config.nixpkgs;
  opt = options.nixpkgs;

  isConfig = x: builtins.isAttrs x || lib.isFunction x;

  optCall = f: x: if lib.isFunction f then f x else f;

  mergeConfig =
    lhs_: rhs_:
    let
      lhs = optCall lhs_ { inherit lib pkgs; };
      rhs = optCall rhs_ { inherit lib pkgs; };
    in
    (lib.zipAttrsWith
      (
        name: values:
        let
          rhs' = lib.elemAt values 0;
        in
        if builtins.isList rhs' then lib.concatLists values else rhs'
      )
      [
        lhs
        rhs
      ]
    )
    // lib.optionalAttrs (lhs ? packageOverrides) {
      packageOverrides =
        pkgs:
        optCall lhs.packageOverrides pkgs // optCall (lib.attrByPath [ "packageOverrides" ] { } rhs) pkgs;
    };

  configType = lib.mkOptionType {
    name = "nixpkgs-config";
    description = "nixpkgs config";
    check =
      x:
      let
        traceXIfNot = c: if c x then true else lib.traceSeqN 1 x false;
      in
      traceXIfNot isConfig;
    merge = args: lib.foldr (def: mergeConfig def.value) { };
  };

  overlayType = lib.mkOptionType {
    name = "nixpkgs-overlay";
    description = "nixpkgs overlay";
    check = lib.isFunction;
    merge = lib.mergeOneOption;
  };

  pkgsType = lib.types.pkgs // {
    description = "An evaluation of Nixpkgs; the top level attribute set of packages";
  };

  hasBuildPlatform = opt.buildPlatform.highestPrio < (lib.mkOptionDefault { }).priority;
  hasHostPlatform = opt.hostPlatform.isDefined;
  hasPlatform = hasHostPlatform || hasBuildPlatform;

  hostPlatformLine = lib.optionalString hasHostPlatform "${lib.showOptionWithDefLocs opt.hostPlatform}";
  buildPlatformLine = lib.optionalString hasBuildPlatform "${lib.showOptionWithDefLocs opt.buildPlatform}";

  legacyOptionsDefined =
    lib.optional (opt.localSystem.highestPrio < (lib.mkDefault { }).priority) opt.system
    ++ lib.optional (opt.localSystem.highestPrio < (lib.mkOptionDefault { }).priority) opt.localSystem
    ++ lib.optional (opt.crossSystem.highestPrio < (lib.mkOptionDefault { }).priority) opt.crossSystem;

  # nixpkgs: import ../../.. { inherit (cfg) config overlays; localSystem/crossSystem }
  defaultPkgs =
    if opt.hostPlatform.isDefined then
      import ../../pkgs.nix {
        inherit lib;
        inherit (cfg) config overlays hostPlatform buildPlatform;
      }
    else
      import ../../pkgs.nix {
        inherit lib;
        inherit (cfg) config overlays;
        hostPlatform =
          if cfg.crossSystem != null then lib.systems.elaborate cfg.crossSystem else cfg.localSystem;
        buildPlatform = cfg.localSystem;
      };

  finalPkgs = if opt.pkgs.isDefined then cfg.pkgs.appendOverlays cfg.overlays else defaultPkgs;

  pkgs = finalPkgs;
in
{
  options.nixpkgs = {
    pkgs = lib.mkOption {
      type = pkgsType;
      description = "If set, the pkgs argument to all NixOS modules is the value of this option, extended with `nixpkgs.overlays`.";
    };

    config = lib.mkOption {
      default = { };
      example = lib.literalExpression ''
        { allowBroken = true; allowUnfree = true; }
      '';
      type = configType;
      description = "Global configuration for Nixpkgs.";
    };

    overlays = lib.mkOption {
      default = [ ];
      type = lib.types.listOf overlayType;
      description = "List of overlays to apply to Nixpkgs.";
    };

    hostPlatform = lib.mkOption {
      type = lib.types.either lib.types.str lib.types.attrs;
      example = {
        system = "aarch64-linux";
      };
      apply = lib.systems.elaborate;
      description = "Specifies the platform where the NixOS configuration will run.";
    };

    buildPlatform = lib.mkOption {
      type = lib.types.either lib.types.str lib.types.attrs;
      default = cfg.hostPlatform;
      example = {
        system = "x86_64-linux";
      };
      apply =
        inputBuildPlatform:
        let
          elaborated = lib.systems.elaborate inputBuildPlatform;
        in
        if lib.systems.equals elaborated cfg.hostPlatform then cfg.hostPlatform else elaborated;
      defaultText = lib.literalExpression "config.nixpkgs.hostPlatform";
      description = "Specifies the platform on which NixOS should be built.";
    };

    localSystem = lib.mkOption {
      type = lib.types.attrs;
      default = { inherit (cfg) system; };
      example = {
        system = "aarch64-linux";
      };
      apply = lib.systems.elaborate;
      defaultText = lib.literalExpression "config.nixpkgs.system";
      description = "Specifies the platform on which NixOS should be built (legacy).";
    };

    crossSystem = lib.mkOption {
      type = lib.types.nullOr lib.types.attrs;
      default = null;
      example = {
        system = "aarch64-linux";
      };
      description = "Specifies the platform for which NixOS should be built (legacy).";
    };

    system = lib.mkOption {
      type = lib.types.str;
      example = "i686-linux";
      default =
        if opt.hostPlatform.isDefined then
          throw ''
            Neither ${opt.system} nor any other option in nixpkgs.* is meant
            to be read by modules and configurations.
            Use pkgs.stdenv.hostPlatform instead.
          ''
        else
          throw ''
            Neither ${opt.hostPlatform} nor the legacy option ${opt.system} has been set.
            You can set ${opt.hostPlatform} in hardware-configuration.nix by re-running
            a recent version of nixos-generate-config.
            The option ${opt.system} is still fully supported for NixOS 22.05 interoperability,
            but will be deprecated in the future, so we recommend to set ${opt.hostPlatform}.
          '';
      defaultText = lib.literalMD ''
        Traditionally `builtins.currentSystem`, but unset when invoking NixOS through `lib.nixosSystem`.
      '';
      description = "Specifies the Nix platform type on which NixOS should be built (legacy).";
    };
  };

  config = {
    _module.args = {
      pkgs = lib.mkOverride lib.modules.defaultOverridePriority finalPkgs;
    };

    assertions =
      let
        constructedByMe =
          (lib.modules.mergeAttrDefinitionsWithPrio options._module.args).pkgs.highestPrio
          == lib.modules.defaultOverridePriority
          && !opt.pkgs.isDefined;
      in
      [
        {
          assertion = constructedByMe -> hasPlatform -> legacyOptionsDefined == [ ];
          message = ''
            Your system configures nixpkgs with the platform parameter${lib.optionalString hasBuildPlatform "s"}:
            ${hostPlatformLine}${buildPlatformLine}
            However, it also defines the legacy options:
            ${lib.concatMapStrings lib.showOptionWithDefLocs legacyOptionsDefined}
            For a future proof system configuration, we recommend to remove
            the legacy definitions.
          '';
        }
      ];
  };
}
