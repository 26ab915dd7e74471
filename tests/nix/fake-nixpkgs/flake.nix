# TEST FIXTURE -- NOT NIXPKGS. Just enough of nixpkgs' flake interface
# (a few lib functions, legacyPackages.<system>.stdenv.hostPlatform) for
# tests/nix/flake-eval.sh to evaluate this project's flake outputs down to
# their attribute names. Forcing a real package from it throws.
{
  outputs =
    { self }:
    let
      notHere = what: throw "fake nixpkgs (tests/nix): ${what} needs the real nixpkgs";
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "aarch64-darwin"
      ];
      genAttrs =
        names: f:
        builtins.listToAttrs (
          map (n: {
            name = n;
            value = f n;
          }) names
        );
    in
    {
      lib = {
        inherit genAttrs;
        optionalAttrs = c: a: if c then a else { };
        mkDefault = content: {
          _type = "override";
          priority = 1000;
          inherit content;
        };
        optional = c: x: if c then [ x ] else [ ];
        getExe = _: notHere "lib.getExe";
        nixosSystem = _: notHere "lib.nixosSystem";
      };
      legacyPackages =
        genAttrs systems (system: {
          inherit system;
          stdenv.hostPlatform.isLinux = builtins.match ".*-linux" system != null;
          callPackage = _: _: notHere "callPackage";
        })
        // {
          # As the real nixos-unstable after the 26.05 branch-off does.
          x86_64-darwin = throw "Nixpkgs 26.11 has dropped support for x86_64-darwin.";
        };
    };
}
