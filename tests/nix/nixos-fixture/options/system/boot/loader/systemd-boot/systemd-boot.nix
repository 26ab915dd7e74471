# From nixpkgs nixos/modules/system/boot/loader/systemd-boot/systemd-boot.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. All options with their types and defaults,
# and the module's assertions and extraFiles/extraEntries definitions.
# Simplified: system.build.installBootLoader is a fixture script recording
# what systemd-boot-builder.py would be given (not the real builder); the
# bootspec extension is not modelled.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    concatMap
    hasInfix
    hasPrefix
    hasSuffix
    literalExpression
    mapAttrsToList
    mkDefault
    mkIf
    mkMerge
    mkOption
    toLower
    types
    ;

  cfg = config.boot.loader.systemd-boot;
  efi = config.boot.loader.efi;

  edk2ShellEspPath = "efi/edk2-uefi-shell/shell.efi";

  finalSystemdBootBuilder =
    pkgs.writeScript "install-systemd-boot.sh" ''
      #!${pkgs.runtimeShell}
      # nixos-fixture: stands in for systemd-boot-builder.py
      # systemd=${config.systemd.package} nix=${config.nix.package.out}
      # timeout=${if config.boot.loader.timeout == null then "menu-force" else toString config.boot.loader.timeout}
      # editor=${lib.boolToString cfg.editor} consoleMode=${cfg.consoleMode}
      # efiSysMountPoint=${efi.efiSysMountPoint} canTouchEfiVariables=${lib.boolToString efi.canTouchEfiVariables}
      ${lib.concatStrings (mapAttrsToList (n: v: "# extraFile ${n} ${v}\n") cfg.extraFiles)}
      ${cfg.extraInstallCommands}
    '';
in
{
  imports = [
    (lib.mkRenamedOptionModule
      [
        "boot"
        "loader"
        "gummiboot"
        "enable"
      ]
      [
        "boot"
        "loader"
        "systemd-boot"
        "enable"
      ]
    )
  ];

  options.boot.loader.systemd-boot = {
    enable = mkOption {
      default = false;
      type = types.bool;
      description = "Whether to enable the systemd-boot (formerly gummiboot) EFI boot manager.";
    };

    sortKey = mkOption {
      default = "nixos";
      type = types.str;
      description = "The sort key used for the NixOS bootloader entries.";
    };

    editor = mkOption {
      default = true;
      type = types.bool;
      description = "Whether to allow editing the kernel command-line before boot.";
    };

    xbootldrMountPoint = mkOption {
      default = null;
      type = types.nullOr types.str;
      description = "Where the XBOOTLDR partition is mounted.";
    };

    configurationLimit = mkOption {
      default = null;
      example = 120;
      type = types.nullOr types.int;
      description = "Maximum number of latest generations in the boot menu.";
    };

    installDeviceTree = mkOption {
      default = with config.hardware.deviceTree; enable && name != null;
      defaultText = ''with config.hardware.deviceTree; enable && name != null'';
      description = ''
        Install the devicetree blob specified by `config.hardware.deviceTree.name`
        to the ESP and instruct systemd-boot to pass this DTB to linux.
      '';
    };

    extraInstallCommands = mkOption {
      default = "";
      type = types.lines;
      description = "Additional shell commands inserted in the bootloader installer script after generating menu entries.";
    };

    consoleMode = mkOption {
      default = "keep";
      type = types.enum [
        "0"
        "1"
        "2"
        "5"
        "auto"
        "max"
        "keep"
      ];
      description = "The resolution of the console.";
    };

    memtest86 = {
      enable = mkOption {
        default = false;
        type = types.bool;
        description = "Make Memtest86+ available from the systemd-boot menu.";
      };
      sortKey = mkOption {
        default = "o_memtest86";
        type = types.str;
        description = "`systemd-boot` orders the menu entries by their sort keys.";
      };
    };

    netbootxyz = {
      enable = mkOption {
        default = false;
        type = types.bool;
        description = "Make `netboot.xyz` available from the `systemd-boot` menu.";
      };
      sortKey = mkOption {
        default = "o_netbootxyz";
        type = types.str;
        description = "`systemd-boot` orders the menu entries by their sort keys.";
      };
    };

    edk2-uefi-shell = {
      enable = mkOption {
        type = types.bool;
        default = false;
        description = "Make the EDK2 UEFI Shell available from the systemd-boot menu.";
      };
      sortKey = mkOption {
        type = types.str;
        default = "o_edk2-uefi-shell";
        description = "`systemd-boot` orders the menu entries by their sort keys.";
      };
    };

    extraEntries = mkOption {
      type = types.attrsOf types.lines;
      default = { };
      description = "Any additional entries you want added to the `systemd-boot` menu.";
    };

    extraFiles = mkOption {
      type = types.attrsOf types.path;
      default = { };
      example = literalExpression ''
        { "efi/memtest86/memtest.efi" = pkgs.memtest86plus.efi; }
      '';
      description = "A set of files to be copied to {file}`$BOOT`.";
    };

    extraEfiDrivers = mkOption {
      type = types.attrsOf types.path;
      default = { };
      description = "A set of EFI drivers to be copied to {file}`$ESP/EFI/systemd/drivers`.";
    };

    graceful = mkOption {
      default = false;
      type = types.bool;
      description = "Invoke `bootctl install` with the `--graceful` option.";
    };

    rebootForBitlocker = mkOption {
      default = false;
      type = types.bool;
      description = "Enable *EXPERIMENTAL* BitLocker support.";
    };

    windows = mkOption {
      default = { };
      description = "Make Windows bootable from systemd-boot.";
      type = types.attrsOf (
        types.submodule (
          { name, ... }:
          {
            options = {
              efiDeviceHandle = mkOption {
                type = types.str;
                example = "HD1b3";
                description = "The device handle of the EFI System Partition (ESP) where the Windows bootloader is located.";
              };
              title = mkOption {
                type = types.str;
                example = "Michaelsoft Binbows";
                default = "Windows ${name}";
                description = "The title of the boot menu entry.";
              };
              sortKey = mkOption {
                type = types.str;
                default = "o_windows_${name}";
                description = "`systemd-boot` orders the menu entries by their sort keys.";
              };
            };
          }
        )
      );
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = (hasPrefix "/" efi.efiSysMountPoint);
        message = "The ESP mount point '${toString efi.efiSysMountPoint}' must be an absolute path";
      }
      {
        assertion = cfg.xbootldrMountPoint == null || (hasPrefix "/" cfg.xbootldrMountPoint);
        message = "The XBOOTLDR mount point '${toString cfg.xbootldrMountPoint}' must be an absolute path";
      }
      {
        assertion = cfg.xbootldrMountPoint != efi.efiSysMountPoint;
        message = "The XBOOTLDR mount point '${toString cfg.xbootldrMountPoint}' cannot be the same as the ESP mount point '${toString efi.efiSysMountPoint}'";
      }
      {
        assertion = (config.boot.kernelPackages.kernel.features or { efiBootStub = true; }) ? efiBootStub;
        message = "This kernel does not support the EFI boot stub";
      }
      {
        assertion =
          cfg.installDeviceTree -> config.hardware.deviceTree.enable -> config.hardware.deviceTree.name != null;
        message = "Cannot install devicetree without 'config.hardware.deviceTree.enable' enabled and 'config.hardware.deviceTree.name' set";
      }
    ]
    ++ concatMap (filename: [
      {
        assertion = !(hasInfix "/" filename);
        message = "boot.loader.systemd-boot.extraEntries.${lib.strings.escapeNixIdentifier filename} is invalid: entries within folders are not supported";
      }
      {
        assertion = hasSuffix ".conf" filename;
        message = "boot.loader.systemd-boot.extraEntries.${lib.strings.escapeNixIdentifier filename} is invalid: entries must have a .conf file extension";
      }
    ]) (builtins.attrNames cfg.extraEntries)
    ++ concatMap (filename: [
      {
        assertion = !(hasPrefix "/" filename);
        message = "boot.loader.systemd-boot.extraFiles.${lib.strings.escapeNixIdentifier filename} is invalid: paths must not begin with a slash";
      }
      {
        assertion = !(hasInfix ".." filename);
        message = "boot.loader.systemd-boot.extraFiles.${lib.strings.escapeNixIdentifier filename} is invalid: paths must not reference the parent directory";
      }
      {
        assertion = !(hasInfix "nixos/.extra-files" (toLower filename));
        message = "boot.loader.systemd-boot.extraFiles.${lib.strings.escapeNixIdentifier filename} is invalid: files cannot be placed in the nixos/.extra-files directory";
      }
    ]) (builtins.attrNames cfg.extraFiles)
    ++ concatMap (winVersion: [
      {
        assertion = lib.match "^[-_0-9A-Za-z]+$" winVersion != null;
        message = "boot.loader.systemd-boot.windows.${winVersion} is invalid: key must only contain alphanumeric characters, hyphens, and underscores";
      }
    ]) (builtins.attrNames cfg.windows);

    boot.loader.grub.enable = mkDefault false;

    boot.loader.supportsInitrdSecrets = true;

    boot.loader.systemd-boot.extraFiles = mkMerge [
      (mkIf cfg.memtest86.enable {
        "efi/memtest86/memtest.efi" = pkgs.memtest86plus.efi;
      })
      (mkIf cfg.netbootxyz.enable {
        "efi/netbootxyz/netboot.xyz.efi" = "${pkgs.netbootxyz-efi}";
      })
      (mkIf (cfg.edk2-uefi-shell.enable || cfg.windows != { }) {
        ${edk2ShellEspPath} = "${pkgs.edk2-uefi-shell}/shell.efi";
      })
    ];

    boot.loader.systemd-boot.extraEntries = mkMerge (
      [
        (mkIf cfg.memtest86.enable {
          "memtest86.conf" = ''
            title  Memtest86+
            efi    /efi/memtest86/memtest.efi
            sort-key ${cfg.memtest86.sortKey}
          '';
        })
        (mkIf cfg.netbootxyz.enable {
          "netbootxyz.conf" = ''
            title  netboot.xyz
            efi    /efi/netbootxyz/netboot.xyz.efi
            sort-key ${cfg.netbootxyz.sortKey}
          '';
        })
        (mkIf cfg.edk2-uefi-shell.enable {
          "edk2-uefi-shell.conf" = ''
            title  EDK2 UEFI Shell
            efi    /${edk2ShellEspPath}
            sort-key ${cfg.edk2-uefi-shell.sortKey}
          '';
        })
      ]
      ++ (mapAttrsToList (winVersion: cfg: {
        "windows_${winVersion}.conf" = ''
          title ${cfg.title}
          efi /${edk2ShellEspPath}
          options -nointerrupt -nomap -noversion ${cfg.efiDeviceHandle}:EFI\Microsoft\Boot\Bootmgfw.efi
          sort-key ${cfg.sortKey}
        '';
      }) cfg.windows)
    );

    system = {
      build.installBootLoader = finalSystemdBootBuilder;

      boot.loader.id = "systemd-boot";

      requiredKernelConfig = [
        {
          assertion = config: config.isYes "EFI_STUB";
          message = "CONFIG_EFI_STUB is not yes!";
          configLine = "CONFIG_EFI_STUB=y";
        }
      ];
    };
  };
}
