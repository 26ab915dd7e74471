# From nixpkgs nixos/modules/system/boot/stage-2.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Simplified: system.build.bootStage2 is the
# postBootCommands file (pkgs.writeText "local-cmds" as there) rather than the
# substituted stage-2-init.sh, so its string context reaches the toplevel.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
in
{
  options = {
    boot = {
      postBootCommands = mkOption {
        default = "";
        example = "rm -f /var/log/messages";
        type = types.lines;
        description = "Shell commands to be executed just before systemd is started.";
      };
    };
  };

  config = {
    system.build.bootStage2 = pkgs.writeText "local-cmds" ''
      ${config.boot.postBootCommands}
    '';
  };
}
