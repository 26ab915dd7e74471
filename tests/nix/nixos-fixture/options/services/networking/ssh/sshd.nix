# From nixpkgs nixos/modules/services/networking/ssh/sshd.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. services.openssh.enable and the per-user
# openssh.authorizedKeys.keys/keyFiles; the daemon is not modelled.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  userOptions = {
    options.openssh.authorizedKeys = {
      keys = mkOption {
        type = types.listOf types.singleLineStr;
        default = [ ];
        description = "A list of verbatim OpenSSH public keys that should be added to the user's authorized keys.";
      };
      keyFiles = mkOption {
        type = types.listOf types.path;
        default = [ ];
        description = "A list of files each containing one OpenSSH public key that should be added to the user's authorized keys.";
      };
    };
  };
in
{
  options = {
    users.users = mkOption { type = with types; attrsOf (submodule userOptions); };
    services.openssh.enable = mkOption {
      type = types.bool;
      default = false;
      description = "Whether to enable the OpenSSH secure shell daemon, which allows secure remote logins.";
    };
  };
}
