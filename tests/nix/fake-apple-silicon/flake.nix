# TEST FIXTURE -- NOT nixos-apple-silicon. An empty module under the name the
# project's flake imports, for tests/nix/flake-eval.sh.
{
  outputs =
    { self }:
    {
      nixosModules.apple-silicon-support = ./module.nix;
    };
}
