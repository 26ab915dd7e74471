# From nixpkgs nixos/modules/system/boot/loader/generic-extlinux-compatible/default.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. The builder is a recording package
# (extlinux-conf-builder), the arguments as nixpkgs composes them.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  blCfg = config.boot.loader;
  dtCfg = config.hardware.deviceTree;
  cfg = blCfg.generic-extlinux-compatible;
  timeoutStr = if blCfg.timeout == null then "-1" else toString blCfg.timeout;
  builder = "${pkgs.extlinux-conf-builder}/bin/extlinux-conf-builder.sh";
  populateBuilder = "${pkgs.buildPackages.extlinux-conf-builder}/bin/extlinux-conf-builder.sh";
in
{
  options.boot.loader.generic-extlinux-compatible = {
    enable = lib.mkOption {
      default = false;
      type = lib.types.bool;
      description = "Whether to generate an extlinux-compatible configuration file under /boot/extlinux.conf.";
    };
    useGenerationDeviceTree = lib.mkOption {
      default = true;
      type = lib.types.bool;
      description = "Whether to generate Device Tree-related directives in the extlinux configuration.";
    };
    configurationLimit = lib.mkOption {
      default = 20;
      example = 10;
      type = lib.types.int;
      description = "Maximum number of configurations in the boot menu.";
    };
    populateCmd = lib.mkOption {
      type = lib.types.str;
      readOnly = true;
      description = "Contains the builder command used to populate an image, honoring all options except the -c <path-to-default-configuration> argument.";
    };
    copyKernels = lib.mkOption {
      default = false;
      type = lib.types.bool;
      description = "Whether to copy the necessary boot files into /boot.";
    };
    storePath = lib.mkOption {
      default = "/nix/store";
      type = lib.types.str;
      description = "Path to the Nix store when looking for kernels at boot.";
    };
  };

  config =
    let
      builderArgs =
        "-g ${toString cfg.configurationLimit} -t ${timeoutStr}"
        + lib.optionalString (dtCfg.name != null) " -n ${dtCfg.name}"
        + lib.optionalString (!cfg.useGenerationDeviceTree) " -r";
    in
    lib.mkIf cfg.enable {
      system.build.installBootLoader = "${builder} ${builderArgs} -c";
      system.boot.loader.id = "generic-extlinux-compatible";
      boot.loader.generic-extlinux-compatible.populateCmd = "${populateBuilder} ${builderArgs}";
    };
}
