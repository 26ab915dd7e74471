# What finishes the installation on first boot, as systemd units (not
# boot.postBootCommands, which nixos-init refuses), so scripted stage 2 and
# nixos-init both run them. The scripts live beside this file, where
# shellcheck reads them (tests/nix/run.sh).
#   every image (nixosAsahi, or a nixosImage format):
#     first boot:  register the store and set the system profile, ask for
#                  root's password; the last one removes the marker
#   the Asahi image:
#     every boot:  vendor firmware from the ESP into /lib/firmware
#     first boot:  record the installation's partitions, grow a btrfs root
#                  (ext4 grows in stage 1: autoResize; other formats grow
#                  with boot.growPartition, see modules/image.nix)
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.nixosAsahi;
  # Any image this project builds; config.nixosImage exists when
  # modules/image.nix is imported.
  imaged = cfg.enable || (config.nixosImage.format or null) != null;
  helpers = import ../lib/helpers;
  inherit (helpers) firstBootMarker;
  script = name: pkgs.writeShellScript name (builtins.readFile (./first-boot + "/${name}.sh"));
  firstBoot = {
    unitConfig.ConditionPathExists = firstBootMarker;
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
    };
  };
  # In sysinit, once the filesystems are mounted: before nix-daemon's socket
  # and every login. Without the default dependencies, which would order
  # them after basic.target, hence after nix-daemon.socket.
  early = {
    wantedBy = [ "sysinit.target" ];
    after = [ "local-fs.target" ];
    before = [
      "sysinit.target"
      "shutdown.target"
    ];
    conflicts = [ "shutdown.target" ];
    unitConfig.DefaultDependencies = false;
  };
in
{
  config = lib.mkMerge [
  (lib.mkIf imaged {
    systemd.tmpfiles.rules = [
      # nixos-rebuild (switch-to-configuration) refuses a system without it.
      "f /etc/NIXOS 0644 root root -"
    ];

    systemd.services.nixos-asahi-register-store = lib.recursiveUpdate (lib.recursiveUpdate firstBoot early) {
      description = "Register the image's store paths and the system profile";
      unitConfig.ConditionPathExists = "/nix-path-registration";
      path = [
        config.nix.package.out
        pkgs.coreutils
      ];
      serviceConfig.ExecStart = script "register-store";
    };

    systemd.services.nixos-asahi-first-boot = {
      description = "Set root's password on first boot";
      wantedBy = [ "multi-user.target" ];
      before = [
        "getty@tty1.service"
        "systemd-user-sessions.service"
        "display-manager.service"
      ];
      after = [
        "systemd-vconsole-setup.service"
        "nixos-asahi-register-store.service"
      ]
      ++ lib.optionals cfg.enable [
        "nixos-asahi-record-installation.service"
        "nixos-asahi-vendor-firmware.service"
      ]
      ++ lib.optional (cfg.enable && cfg.fsType == "btrfs") "nixos-asahi-grow-root.service";
      unitConfig.ConditionPathExists = firstBootMarker;
      path = [ pkgs.shadow ];
      serviceConfig = {
        Type = "oneshot";
        StandardInput = "tty";
        StandardOutput = "tty";
        TTYPath = "/dev/tty1";
        TTYReset = true;
        TTYVHangup = true;
      };
      script =
        lib.optionalString cfg.firstBootPassword ''
          echo
          echo "NixOS is installed. Choose a password for the user root."
          until passwd root; do echo "Please try again."; done
        ''
        + ''
          rm -f ${firstBootMarker}
        '';
    };
  })
  (lib.mkIf cfg.enable {

    systemd.services.nixos-asahi-record-installation = lib.recursiveUpdate (lib.recursiveUpdate firstBoot early) {
      description = "Record the installation's ESP and root partitions in /etc/nixos";
      path = [
        pkgs.coreutils
        pkgs.gawk
      ];
      serviceConfig.ExecStart = script "record-installation";
    };

    systemd.services.nixos-asahi-grow-root = lib.mkIf (cfg.fsType == "btrfs") (
      lib.recursiveUpdate (lib.recursiveUpdate firstBoot early) {
        description = "Grow the root btrfs into the partition the installer enlarged";
        serviceConfig.ExecStart = "${pkgs.btrfs-progs}/bin/btrfs filesystem resize max /";
      }
    );

    systemd.services.nixos-asahi-vendor-firmware = lib.mkIf cfg.loadVendorFirmware {
      description = "Load the Mac's firmware from the ESP";
      wantedBy = [ "sysinit.target" ];
      # Drivers ask for firmware when udev's coldplug loads them. It needs
      # only the root (stage 1 mounted it; it mounts the ESP itself), not
      # local-fs.target, whose /boot may wait for udev.
      before = [
        "systemd-udev-trigger.service"
        "sysinit.target"
      ];
      after = [ "systemd-remount-fs.service" ];
      unitConfig.DefaultDependencies = false;
      path = [
        pkgs.util-linux
        pkgs.cpio
        pkgs.coreutils
      ];
      environment = {
        ESP_UUID = helpers.espUuidOf cfg.volumeId;
        FIRST_BOOT = firstBootMarker;
      }
      // lib.optionalAttrs (cfg.installation.espPartUuid != null) {
        ESP_PARTUUID = cfg.installation.espPartUuid;
      };
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = script "vendor-firmware";
      };
    };

    # For installations from images made before first boot recorded them.
    environment.systemPackages = [
      (pkgs.writeShellScriptBin "nixos-asahi-record-installation" (
        builtins.readFile ./first-boot/record-installation.sh
      ))
    ];
  })
  ];
}
