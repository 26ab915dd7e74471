# From nixpkgs nixos/modules/system/boot/systemd/initrd.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Only boot.initrd.systemd.enable: a
# mkEnableOption (default false) as in nixpkgs through 26.05 and the
# nixos-unstable the project's flake.lock pins (e2587ca, 2026-07-23); later
# nixos-unstable (from about 2026-08) defaults it to true.
{ lib, ... }:
{
  options.boot.initrd.systemd = {
    enable = lib.mkEnableOption "systemd in initrd" // {
      description = ''
        Whether to enable systemd in initrd. The unit options such as
        {option}`boot.initrd.systemd.services` are the same as their
        stage 2 counterparts such as {option}`systemd.services`,
        except that `restartTriggers` and `reloadTriggers` are not
        supported.
      '';
    };
  };
}
