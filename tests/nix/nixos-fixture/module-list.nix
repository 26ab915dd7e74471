# TEST FIXTURE -- NOT NIXPKGS.
# Stands in for nixpkgs' nixos/modules/module-list.nix: the fixture's option
# modules, one per nixpkgs file (options/<path> = nixos/modules/<path>).
# misc/nixpkgs.nix sets _module.args.pkgs (from ./pkgs.nix and
# nixpkgs.overlays) and misc/extra-arguments.nix sets _module.args.utils,
# as in nixpkgs; eval-config.nix passes modulesPath.
[
  ./options/config/i18n.nix
  ./options/config/locale.nix
  ./options/config/nix.nix
  ./options/config/shells-environment.nix
  ./options/config/system-path.nix
  ./options/config/users-groups.nix
  ./options/hardware/device-tree.nix
  ./options/hardware/sensor/iio.nix
  ./options/misc/assertions.nix
  ./options/misc/extra-arguments.nix
  ./options/misc/nixpkgs.nix
  ./options/misc/version.nix
  ./options/security/rtkit.nix
  ./options/services/audio/pulseaudio.nix
  ./options/services/desktops/pipewire/pipewire.nix
  ./options/services/desktops/pipewire/wireplumber.nix
  ./options/services/hardware/udev.nix
  ./options/services/networking/networkmanager.nix
  ./options/services/networking/ssh/sshd.nix
  ./options/services/system/nix-daemon.nix
  ./options/services/system/userborn.nix
  ./options/system/activation/nixos-init.nix
  ./options/system/activation/specialisation.nix
  ./options/system/activation/top-level.nix
  ./options/system/boot/grow-partition.nix
  ./options/system/boot/kernel.nix
  ./options/system/boot/loader/efi.nix
  ./options/system/boot/loader/generic-extlinux-compatible/default.nix
  ./options/system/boot/loader/grub/grub.nix
  ./options/system/boot/loader/limine/limine.nix
  ./options/system/boot/loader/loader.nix
  ./options/system/boot/loader/systemd-boot/systemd-boot.nix
  ./options/system/boot/stage-1.nix
  ./options/system/boot/stage-2.nix
  ./options/system/boot/systemd.nix
  ./options/system/boot/systemd/initrd.nix
  ./options/system/boot/systemd/sysusers.nix
  ./options/system/boot/systemd/tmpfiles.nix
  ./options/system/boot/systemd/user.nix
  ./options/system/etc/etc.nix
  ./options/tasks/cpu-freq.nix
  ./options/tasks/filesystems.nix
  ./options/tasks/network-interfaces.nix
  ./options/virtualisation/nixos-containers.nix
]
