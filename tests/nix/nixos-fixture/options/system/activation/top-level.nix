# From nixpkgs nixos/modules/system/activation/top-level.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. The newest version seen (kernelFile defaults
# to config.boot.kernelPackages.kernel.target, lib.systems having dropped
# linux-kernel in 26.11). Simplified: system.build.toplevel is a fixture
# derivation (never built) made from what the real one is made from: the
# kernel, initrd, kernel params, bootStage2 (postBootCommands), etc, sw
# (systemPackages), systemd, firmware, the units, the specialisations and
# system.extraDependencies; its `fixture` attribute records them. As in
# nixpkgs it is wrapped in lib.asserts.checkAssertWarn: failed assertions
# throw "Failed assertions: ..." and warnings are shown (lib.warn) when it is
# evaluated. replaceDependencies / includeBuildDependencies / bootspec /
# forbiddenDependenciesRegexes' closure check are not modelled.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types literalExpression;

  kernelPath = "${config.boot.kernelPackages.kernel}/${config.system.boot.loader.kernelFile}";
  initrdPath = "${config.system.build.initialRamdisk}/${config.system.boot.loader.initrdFile}";

  # The parts the real systemBuilder links into $out.
  parts = {
    kernel = kernelPath;
    initrd = initrdPath;
    kernelParams = lib.concatStringsSep " " config.boot.kernelParams;
    init = config.system.build.bootStage2;
    etc = config.system.build.etc;
    sw = config.system.path;
    systemd = config.systemd.package;
    firmware = config.hardware.firmware;
    dtbs = if config.hardware.deviceTree.package != null then config.hardware.deviceTree.package else "";
    units = config.system.build.fixtureUnits;
    nixosLabel = config.system.nixos.label;
    extraDependencies = config.system.extraDependencies;
    specialisations = lib.mapAttrsToList (
      name: s: "${name}=${s.configuration.system.build.toplevel}"
    ) config.specialisation;
    passedChecks = lib.concatStringsSep " " config.system.checks;
    systemBuilderCommands = config.system.systemBuilderCommands;
  };

  baseSystem =
    pkgs.stdenvNoCC.mkDerivation (
      {
        name = "nixos-system-${config.system.name}-${config.system.nixos.label}";
        preferLocalBuild = true;
        allowSubstitutes = false;
      }
      // parts
      // config.system.systemBuilderArgs
    )
    // {
      fixture = {
        builder = "system.build.toplevel";
        inherit parts;
      };
    };

  # Handle assertions and warnings
  baseSystemAssertWarn = lib.asserts.checkAssertWarn config.assertions config.warnings baseSystem;
in
{
  imports = [
    ../build.nix
    (lib.mkRemovedOptionModule [
      "nesting"
      "clone"
    ] "Use `specialisation.«name» = { inheritParentConfig = true; configuration = { ... }; }` instead.")
    (lib.mkRemovedOptionModule [
      "nesting"
      "children"
    ] "Use `specialisation.«name».configuration = { ... }` instead.")
    (lib.mkRenamedOptionModule
      [ "system" "forbiddenDependenciesRegex" ]
      [ "system" "forbiddenDependenciesRegexes" ]
    )
    (lib.mkRenamedOptionModule [ "system" "extraSystemBuilderCmds" ] [ "system" "systemBuilderCommands" ])
  ];

  options = {
    system.boot.loader.id = mkOption {
      default = "";
      description = "Id string of the used bootloader.";
      internal = true;
    };

    system.boot.loader.initrdFile = mkOption {
      default = "initrd";
      description = "Name of the initrd file to be passed to the bootloader.";
      internal = true;
      type = types.str;
    };

    system.boot.loader.kernelFile = mkOption {
      default = config.boot.kernelPackages.kernel.target;
      defaultText = literalExpression "config.boot.kernelPackages.kernel.target";
      description = "Name of the kernel file to be passed to the bootloader.";
      internal = true;
      type = types.str;
    };

    system.build = {
      toplevel = mkOption {
        description = "This option contains the store path that typically represents a NixOS system.";
        readOnly = true;
        type = types.package;
      };
      # Fixture only: the units the real systemd module would generate, as
      # a derivation (see system/boot/systemd.nix).
      fixtureUnits = mkOption {
        internal = true;
        type = types.package;
      };
      # In nixpkgs declared by nixos/modules/system/activation/switchable-system.nix
      # (same type and default, from memory of that file); the boot loader
      # modules set it.
      installBootLoader = mkOption {
        internal = true;
        default = pkgs.writeShellScript "no-bootloader" ''
          echo 'Warning: do not know how to make this configuration bootable; please enable a boot loader.' 1>&2
        '';
        type = types.unique {
          message = ''
            Only one bootloader can be enabled at a time. This requirement has not
            been checked until NixOS 22.05. Earlier versions defaulted to the last
            definition. Change your configuration to enable only one bootloader.
          '';
        } (types.either types.str types.package);
      };
    };

    system.checks = mkOption {
      default = [ ];
      description = "Packages that are added as dependencies of the system's build.";
      type = types.listOf types.package;
    };

    system.copySystemConfiguration = mkOption {
      default = false;
      description = "If enabled, copies the NixOS configuration file and symlinks it from the resulting system.";
      type = types.bool;
    };

    system.extraDependencies = mkOption {
      default = [ ];
      description = ''
        A list of paths that should be included in the system
        closure but generally not visible to users.
      '';
      type = types.listOf types.pathInStore;
    };

    system.forbiddenDependenciesRegexes = mkOption {
      default = [ ];
      example = [ "-dev$" ];
      description = "POSIX Extended Regular Expressions that match store paths that should not appear in the system closure.";
      type = types.listOf types.str;
    };

    system.includeBuildDependencies = mkOption {
      default = false;
      description = "Whether to include the build closure of the whole system in its runtime closure.";
      type = types.bool;
    };

    system.name = mkOption {
      default = if config.networking.hostName == "" then "unnamed" else config.networking.hostName;
      defaultText = literalExpression ''
        if config.networking.hostName == ""
        then "unnamed"
        else config.networking.hostName;
      '';
      description = "The name of the system used in the {option}`system.build.toplevel` derivation.";
      type = types.str;
    };

    system.systemBuilderArgs = mkOption {
      default = { };
      description = "`lib.mkDerivation` attributes that will be passed to the top level system builder.";
      internal = true;
      type = types.attrsOf types.unspecified;
    };

    system.systemBuilderCommands = mkOption {
      default = "";
      description = "This code will be added to the builder creating the system store path.";
      internal = true;
      type = types.lines;
    };
  };

  config = {
    assertions = [
      {
        assertion = config.system.copySystemConfiguration -> !lib.inPureEvalMode;
        message = "system.copySystemConfiguration is not supported with flakes";
      }
    ];

    system.systemBuilderArgs = {
      distroId = config.system.nixos.distroId;
      installBootLoader = config.system.build.installBootLoader;
    };

    system.build.toplevel = baseSystemAssertWarn;
  };
}
