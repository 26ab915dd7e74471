# From nixpkgs nixos/modules/services/audio/pulseaudio.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. The option only.
{ lib, ... }:
{
  options.services.pulseaudio = {
    enable = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Whether to enable the PulseAudio sound server.";
    };
  };
}
