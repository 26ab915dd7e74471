# From nixpkgs nixos/modules/system/boot/kernel.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Options with their types, defaults and the
# boot.kernelPackages apply (extend + kernel.override with kernelPatches,
# features, randstructSeed) as there. Config kept: default initrd modules,
# loglevel kernel parameter, kernelModules, system.build.kernel, modulesTree,
# requiredKernelConfig assertions. Left out: sysctl, modules-load.d,
# systemd-modules-load, systemBuilderCommands (the fixture toplevel records
# kernel and initrd itself).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    literalExpression
    mkEnableOption
    mkIf
    mkMerge
    mkOption
    optional
    optionals
    types
    ;
  inherit (config.boot) kernelPatches;
  inherit (config.boot.kernel) features randstructSeed;
  inherit (config.boot.kernelPackages) kernel;
in
{
  options = {
    boot.kernel.enable =
      mkEnableOption "the Linux kernel. This is useful for systemd-like containers which do not require a kernel"
      // {
        default = true;
      };

    boot.kernel.features = mkOption {
      default = { };
      example = literalExpression "{ debug = true; }";
      internal = true;
      description = "This option allows to enable or disable certain kernel features.";
    };

    boot.kernelPackages = mkOption {
      default = pkgs.linuxPackages;
      type = types.raw;
      apply =
        kernelPackages:
        kernelPackages.extend (
          self: super: {
            kernel = super.kernel.override (originalArgs: {
              inherit randstructSeed;
              kernelPatches = (originalArgs.kernelPatches or [ ]) ++ kernelPatches;
              features = lib.recursiveUpdate super.kernel.features features;
            });
          }
        );
      defaultText = literalExpression "pkgs.linuxPackages";
      example = literalExpression "pkgs.linuxKernel.packages.linux_5_10";
      description = "This option allows you to override the Linux kernel used by NixOS.";
    };

    boot.kernelPatches = mkOption {
      type = types.listOf types.attrs;
      default = [ ];
      description = "A list of additional patches to apply to the kernel.";
    };

    boot.kernel.randstructSeed = mkOption {
      type = types.str;
      default = "";
      example = "my secret seed";
      description = "Provides a custom seed for the {var}`RANDSTRUCT` security option of the Linux kernel.";
    };

    boot.kernelParams = mkOption {
      type = types.listOf (
        types.strMatching ''([^"[:space:]]|"[^"]*")+''
        // {
          name = "kernelParam";
          description = "string, with spaces inside double quotes";
        }
      );
      default = [ ];
      description = "Parameters added to the kernel command line.";
    };

    boot.consoleLogLevel = mkOption {
      type = types.int;
      default = 4;
      description = "The kernel console `loglevel`.";
    };

    boot.extraModulePackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      example = literalExpression "[ config.boot.kernelPackages.nvidia_x11 ]";
      description = "A list of additional packages supplying kernel modules.";
    };

    boot.kernelModules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "The set of kernel modules to be loaded in the second stage of the boot process.";
    };

    boot.initrd.availableKernelModules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [
        "sata_nv"
        "ext3"
      ];
      description = "The set of kernel modules in the initial ramdisk used during the boot process.";
    };

    boot.initrd.kernelModules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "List of modules that are always loaded by the initrd.";
    };

    boot.initrd.includeDefaultModules = mkOption {
      type = types.bool;
      default = true;
      description = "This option, if set, adds a collection of default kernel modules to {option}`boot.initrd.availableKernelModules` and {option}`boot.initrd.kernelModules`.";
    };

    system.modulesTree = mkOption {
      type = types.listOf types.path;
      internal = true;
      default = [ ];
      description = "Tree of kernel modules.";
      # Convert the list of path to only one path.
      apply = pkgs.aggregateModules;
    };

    system.requiredKernelConfig = mkOption {
      default = [ ];
      internal = true;
      type = types.listOf types.attrs;
      description = "This option allows modules to specify the kernel config options that must be set (or unset) for the module to work.";
    };
  };

  config = mkMerge [
    (mkIf config.boot.initrd.enable {
      boot.initrd.availableKernelModules = optionals config.boot.initrd.includeDefaultModules (
        [
          # Some SATA/PATA stuff.
          "ahci"
          "sata_nv"
          "sata_via"
          "sata_sis"
          "sata_uli"
          "ata_piix"
          "pata_marvell"

          # NVMe
          "nvme"

          # Standard SCSI stuff.
          "sd_mod"
          "sr_mod"

          # SD cards and internal eMMC drives.
          "mmc_block"

          # Support USB keyboards, in case the boot fails and we only have
          # a USB keyboard, or for LUKS passphrase prompt.
          "uhci_hcd"
          "ehci_hcd"
          "ehci_pci"
          "ohci_hcd"
          "ohci_pci"
          "xhci_hcd"
          "xhci_pci"
          "usbhid"
          "hid_generic"
          "hid_lenovo"
          "hid_apple"
          "hid_roccat"
          "hid_logitech_hidpp"
          "hid_logitech_dj"
          "hid_microsoft"
          "hid_cherry"
        ]
        ++ optionals pkgs.stdenv.hostPlatform.isx86 [
          # Misc. x86 keyboard stuff.
          "pcips2"
          "atkbd"
          "i8042"

          # x86 RTC needed by the stage 2 init script.
          "rtc_cmos"
        ]
      );

      boot.initrd.kernelModules = optionals config.boot.initrd.includeDefaultModules [
        # For LVM.
        "dm_mod"
      ];
    })

    (mkIf config.boot.kernel.enable {
      system.build = { inherit kernel; };

      system.modulesTree = [ kernel ] ++ config.boot.extraModulePackages;

      # Implement consoleLogLevel both in early boot and using sysctl
      # (so you don't need to reboot to have changes take effect).
      boot.kernelParams = [ "loglevel=${toString config.boot.consoleLogLevel}" ];

      boot.kernelModules = [
        "loop"
        "atkbd"
      ];

      # nixpkgs kernels are assumed to have all required features
      assertions =
        if config.boot.kernelPackages.kernel ? features then
          [ ]
        else
          let
            cfg = config.boot.kernelPackages.kernel.config;
          in
          map (attrs: {
            assertion = attrs.assertion cfg;
            inherit (attrs) message;
          }) config.system.requiredKernelConfig;
    })
  ];
}
