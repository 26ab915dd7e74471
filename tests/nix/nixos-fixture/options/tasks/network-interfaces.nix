# From nixpkgs nixos/modules/tasks/network-interfaces.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. networking.hostName and networking.domain only.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.networking = {
    hostName = mkOption {
      default = config.system.nixos.distroId;
      defaultText = lib.literalExpression "config.system.nixos.distroId";
      # Only allow hostnames without the domain name part (i.e. no FQDNs, see
      # e.g. "man 5 hostname") and require valid DNS labels (recommended
      # syntax). Note: We also allow underscores for compatibility/legacy
      # reasons (as undocumented feature):
      type = types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$";
      description = "The name of the machine. Leave it empty if you want to obtain it from a DHCP server (if using DHCP).";
    };

    domain = mkOption {
      default = null;
      example = "home.arpa";
      type = types.nullOr types.str;
      description = "The system domain name.";
    };
  };
}
