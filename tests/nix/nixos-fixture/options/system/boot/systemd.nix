# From nixpkgs nixos/modules/system/boot/systemd.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. systemd.package, systemd.packages and
# systemd.services (the service submodule of nixos/lib/systemd-unit-options.nix,
# ../../../lib/systemd-unit-options.nix here). Simplified: targets, sockets,
# timers, mounts and the generated unit files are not modelled; the services
# are recorded in a fixture derivation (system.build.fixtureUnits) the
# fixture toplevel depends on, so their scripts' string context counts.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  unitOptions = import ../../../lib/systemd-unit-options.nix { inherit lib; };

  serviceRecord =
    s:
    builtins.toJSON {
      inherit (s)
        enable
        description
        wantedBy
        requiredBy
        before
        after
        wants
        requires
        unitConfig
        serviceConfig
        environment
        script
        preStart
        postStart
        restartIfChanged
        ;
      path = map toString s.path;
    };
in
{
  options.systemd = {
    package = lib.mkPackageOption pkgs "systemd" { };

    packages = mkOption {
      default = [ ];
      type = types.listOf types.package;
      example = lib.literalExpression "[ pkgs.systemd-cryptsetup-generator ]";
      description = "Packages providing systemd units and hooks.";
    };

    services = mkOption {
      default = { };
      type = types.attrsOf unitOptions.serviceType;
      description = "Definition of systemd service units; see {manpage}`systemd.service(5)`.";
    };
  };

  config = {
    system.build.fixtureUnits = pkgs.runCommand "system-units" (
      {
        unitPackages = config.systemd.packages;
        userUnits = lib.mapAttrsToList (n: s: "${n}=${serviceRecord s}") config.systemd.user.services;
      }
      // lib.mapAttrs' (n: s: lib.nameValuePair "service-${n}" (serviceRecord s)) config.systemd.services
    ) "# nixos-fixture: stands in for the generated units; never built";
  };
}
