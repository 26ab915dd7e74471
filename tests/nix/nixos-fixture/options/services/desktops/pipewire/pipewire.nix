# From nixpkgs nixos/modules/services/desktops/pipewire/pipewire.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. enable, package, alsa.enable,
# alsa.support32Bit, pulse.enable, jack.enable, audio.enable,
# configPackages and the PulseAudio conflict assertion; the services and
# config files are not modelled.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkEnableOption mkOption types;
  cfg = config.services.pipewire;
in
{
  options.services.pipewire = {
    enable = mkEnableOption "PipeWire service";

    package = lib.mkPackageOption pkgs "pipewire" { };

    audio.enable = mkOption {
      type = types.bool;
      default = cfg.alsa.enable || cfg.jack.enable || cfg.pulse.enable;
      defaultText = lib.literalExpression "config.services.pipewire.alsa.enable || config.services.pipewire.jack.enable || config.services.pipewire.pulse.enable";
      description = "Whether to use PipeWire as the primary sound server";
    };

    alsa = {
      enable = mkEnableOption "ALSA support";
      support32Bit = mkEnableOption "32-bit ALSA support on 64-bit systems";
    };

    jack = {
      enable = mkEnableOption "JACK audio emulation";
    };

    pulse = {
      enable = mkEnableOption "PulseAudio server emulation";
    };

    configPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "List of packages that provide PipeWire configuration, in the form of `share/pipewire/*/*.conf` files.";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.audio.enable -> !config.services.pulseaudio.enable;
        message = "Using PipeWire as the sound server conflicts with PulseAudio. This option requires `services.pulseaudio.enable` to be set to false";
      }
    ];
  };
}
