# TEST FIXTURE: stands in for nixos-apple-silicon's module.
{ ... }: { }
