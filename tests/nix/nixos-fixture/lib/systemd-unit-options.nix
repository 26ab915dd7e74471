# TEST FIXTURE -- NOT NIXPKGS.
# From nixpkgs nixos/lib/systemd-unit-options.nix and nixos/lib/systemd-lib.nix
# (types and defaults as declared there): the service submodule of
# systemd.services / systemd.user.services. Simplified: the unit-name check
# (unitNameType) is kept, serviceConfig's checkService (Type/Restart value
# checks, a throw in nixpkgs) is kept; sockets, timers, paths, mounts and the
# generated unit text are not modelled, and `startAt`'s timer is not created.
{ lib }:
let
  inherit (lib) mkOption types;

  # nixos/lib/systemd-lib.nix unitOption
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge =
      loc: defs:
      let
        defs' = lib.filterOverrides defs;
      in
      if lib.any (def: lib.isList def.value) defs' then
        lib.concatMap (def: lib.toList def.value) defs'
      else
        lib.mergeEqualOption loc defs';
  };

  # nixos/lib/systemd-lib.nix checkUnitConfig / assertValueOneOf
  assertValueOneOf =
    name: values: group: attr:
    lib.optional (
      attr ? ${name} && !lib.elem attr.${name} values
    ) "Systemd ${group} field `${name}' cannot have value `${toString attr.${name}}'.";
  checkUnitConfig =
    group: checks: attrs:
    let
      errors = lib.concatMap (c: c group attrs) checks;
    in
    if errors == [ ] then true else throw (lib.concatStringsSep "\n" ([ "Failed assertions:" ] ++ errors));
  checkService = checkUnitConfig "Service" [
    (assertValueOneOf "Type" [
      "exec"
      "simple"
      "forking"
      "oneshot"
      "dbus"
      "notify"
      "notify-reload"
      "idle"
    ])
    (assertValueOneOf "Restart" [
      "no"
      "on-success"
      "on-failure"
      "on-abnormal"
      "on-abort"
      "always"
    ])
  ];

  # nixos/lib/systemd-lib.nix unitNameType
  unitNameType = types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)";

  unitList = description: mkOption {
    default = [ ];
    type = types.listOf unitNameType;
    inherit description;
  };
in
rec {
  inherit unitOption unitNameType;

  sharedOptions = {
    enable = mkOption {
      default = true;
      type = types.bool;
      description = "If set to false, this unit will be a symlink to /dev/null.";
    };
    overrideStrategy = mkOption {
      default = "asDropinIfExists";
      type = types.enum [
        "asDropinIfExists"
        "asDropin"
      ];
      description = "Defines how unit configuration is provided for systemd.";
    };
    requiredBy = unitList "Units that require (i.e. depend on and need to go down with) this unit.";
    upheldBy = unitList "Keep this unit running as long as the listed units are running.";
    wantedBy = unitList "Units that want (i.e. depend on) this unit.";
    aliases = unitList "Aliases of that unit.";
  };

  commonUnitOptions = {
    options = sharedOptions // {
      description = mkOption {
        default = "";
        type = types.singleLineStr;
        description = "Description of this unit used in systemd messages and progress indicators.";
      };
      documentation = mkOption {
        default = [ ];
        type = types.listOf types.str;
        description = "A list of URIs referencing documentation for this unit or its configuration.";
      };
      requires = unitList "Start the specified units when this unit is started, and stop this unit when the specified units are stopped or fail.";
      wants = unitList "Start the specified units when this unit is started.";
      upholds = unitList "Keeps the specified running while this unit is running.";
      after = unitList "If the specified units are started at the same time as this unit, delay this unit until they have started.";
      before = unitList "If the specified units are started at the same time as this unit, delay them until this unit has started.";
      bindsTo = unitList "Like ‘requires’, but in addition, if the specified units unexpectedly disappear, this unit will be stopped as well.";
      partOf = unitList "If the specified units are stopped or restarted, then this unit is stopped or restarted as well.";
      conflicts = unitList "If the specified units are started, then this unit is stopped and vice versa.";
      requisite = unitList "Similar to requires. However if the specified units are not started, they will not be started and the transaction will fail.";
      unitConfig = mkOption {
        default = { };
        example = {
          RequiresMountsFor = "/data";
        };
        type = types.attrsOf unitOption;
        description = "Each attribute in this set specifies an option in the `[Unit]` section of the unit.";
      };
      onFailure = unitList "A list of one or more units that are activated when this unit enters the \"failed\" state.";
      onSuccess = unitList "A list of one or more units that are activated when this unit enters the \"inactive\" state.";
      startLimitBurst = mkOption {
        type = types.int;
        description = "Configure unit start rate limiting.";
      };
      startLimitIntervalSec = mkOption {
        type = types.int;
        description = "Configure unit start rate limiting.";
      };
    };
  };

  stage2CommonUnitOptions = {
    imports = [ commonUnitOptions ];
    options = {
      restartTriggers = mkOption {
        default = [ ];
        type = types.listOf types.unspecified;
        description = "An arbitrary list of items such as derivations. If any item in the list changes between reconfigurations, the service will be restarted.";
      };
      reloadTriggers = mkOption {
        default = [ ];
        type = types.listOf unitOption;
        description = "An arbitrary list of items such as derivations. If any item in the list changes between reconfigurations, the service will be reloaded.";
      };
    };
  };

  serviceOptions =
    { name, config, ... }:
    {
      options = {
        environment = mkOption {
          default = { };
          type =
            with types;
            attrsOf (
              nullOr (oneOf [
                str
                path
                package
              ])
            );
          example = {
            PATH = "/foo/bar/bin";
            LANG = "nl_NL.UTF-8";
          };
          description = "Environment variables passed to the service's processes.";
        };
        path = mkOption {
          default = [ ];
          type =
            with types;
            listOf (oneOf [
              package
              str
            ]);
          description = "Packages added to the service's {env}`PATH` environment variable.";
        };
        serviceConfig = mkOption {
          default = { };
          example = {
            RestartSec = 5;
          };
          type = types.addCheck (types.attrsOf unitOption) checkService;
          description = "Each attribute in this set specifies an option in the `[Service]` section of the unit.";
        };
        script = mkOption {
          type = types.lines;
          default = "";
          description = "Shell commands executed as the service's main process.";
        };
        scriptArgs = mkOption {
          type = types.str;
          default = "";
          description = "Arguments passed to the main process script.";
        };
        preStart = mkOption {
          type = types.lines;
          default = "";
          description = "Shell commands executed before the service's main process is started.";
        };
        postStart = mkOption {
          type = types.lines;
          default = "";
          description = "Shell commands executed after the service's main process is started.";
        };
        reload = mkOption {
          type = types.lines;
          default = "";
          description = "Shell commands executed when the service's main process is reloaded.";
        };
        preStop = mkOption {
          type = types.lines;
          default = "";
          description = "Shell commands executed to stop the service.";
        };
        postStop = mkOption {
          type = types.lines;
          default = "";
          description = "Shell commands executed after the service's main process has exited.";
        };
        jobScripts = mkOption {
          type = with types; coercedTo path lib.singleton (listOf path);
          internal = true;
          description = "A list of all job script derivations of this unit.";
          default = [ ];
        };
      };
    };

  stage2ServiceOptions = {
    imports = [
      stage2CommonUnitOptions
      serviceOptions
    ];
    options = {
      restartIfChanged = mkOption {
        type = types.bool;
        default = true;
        description = "Whether the service should be restarted during a NixOS configuration switch if its definition has changed.";
      };
      reloadIfChanged = mkOption {
        type = types.bool;
        default = false;
        description = "Whether the service should be reloaded during a NixOS configuration switch if its definition has changed.";
      };
      stopIfChanged = mkOption {
        type = types.bool;
        default = true;
        description = "If set, a changed unit is restarted by calling {command}`systemctl stop` in the old configuration, then {command}`systemctl start` in the new one.";
      };
      startAt = mkOption {
        type = with types; either str (listOf str);
        default = [ ];
        example = "Sun 14:00:00";
        description = "Automatically start this unit at the given date/time.";
      };
    };
  };

  # systemd.services.<name> / systemd.user.services.<name>
  serviceType = types.submodule stage2ServiceOptions;
}
