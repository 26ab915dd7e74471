# From nixpkgs nixos/modules/hardware/device-tree.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. enable, kernelPackage, dtbSource, filter,
# name, overlays, package. `enable` defaulted to
# pkgs.stdenv.hostPlatform.linux-kernel.DTB or false until lib.systems
# dropped linux-kernel (26.11); here it is the kernel's passthru.buildDTBs
# (the attribute nixpkgs' kernels carry since; inferred, not read), true for
# the fixture's aarch64 kernels. Simplified: `package` is dtbSource itself
# (nixpkgs filters it through pkgs.deviceTree.applyOverlays; no filter or
# overlays are applied here).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.hardware.deviceTree;
in
{
  options = {
    hardware.deviceTree = {
      enable = mkOption {
        default = cfg.kernelPackage.buildDTBs or false;
        defaultText = lib.literalExpression "config.hardware.deviceTree.kernelPackage.buildDTBs or false";
        type = types.bool;
        description = "Build device tree files. These are used to describe the non-discoverable hardware of a system.";
      };

      kernelPackage = mkOption {
        default = config.boot.kernelPackages.kernel;
        defaultText = lib.literalExpression "config.boot.kernelPackages.kernel";
        example = lib.literalExpression "pkgs.linux_latest";
        type = types.path;
        description = "Kernel package where device tree include directory is from. Also used as default source of dtb package to apply overlays to";
      };

      dtbSource = mkOption {
        default = "${cfg.kernelPackage}/dtbs";
        defaultText = lib.literalExpression "\${cfg.kernelPackage}/dtbs";
        type = types.path;
        description = "Path to dtb directory that overlays and other processing will be applied to.";
      };

      filter = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "*rpi*.dtb";
        description = "Only include .dtb files matching glob expression.";
      };

      name = mkOption {
        default = null;
        example = "some-dtb.dtb";
        type = types.nullOr types.str;
        description = "The name of an explicit dtb to be loaded, relative to the dtb base.";
      };

      overlays = mkOption {
        default = [ ];
        type = types.listOf (types.either types.path types.attrs);
        description = "List of overlays to apply to base device-tree (.dtb) files.";
      };

      package = mkOption {
        default = null;
        type = types.nullOr types.path;
        internal = true;
        description = "A path containing the result of applying `overlays` to `kernelPackage`.";
      };
    };
  };

  config = lib.mkIf cfg.enable {
    hardware.deviceTree.package = cfg.dtbSource;
  };
}
