# From nixpkgs nixos/modules/config/i18n.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. defaultLocale and extraLocaleSettings;
# glibcLocales is fixed to null here (no locale archive is built).
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.i18n = {
    defaultLocale = mkOption {
      type = types.str;
      default = "en_US.UTF-8";
      example = "nl_NL.UTF-8";
      description = "The default locale.";
    };

    extraLocaleSettings = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = {
        LC_MESSAGES = "en_US.UTF-8";
        LC_TIME = "de_DE.UTF-8";
      };
      description = "A set of additional system-wide locale settings other than `LANG`.";
    };
  };
}
