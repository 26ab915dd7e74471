{
  description = "My NixOS for a Raspberry Pi 4, as an SD-card image built without a VM";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    nixos-image-tools.url = "github:nix-community/nixos-image-tools";
    nixos-image-tools.inputs.nixpkgs.follows = "nixpkgs";
    # For board support, add nixos-hardware and its raspberry-pi-4 module:
    #   nixos-hardware.url = "github:NixOS/nixos-hardware";
    #   modules = [ nixos-hardware.nixosModules.raspberry-pi-4 ./configuration.nix ];
  };

  outputs =
    {
      self,
      nixpkgs,
      nixos-image-tools,
    }:
    {
      nixosConfigurations.pi = nixpkgs.lib.nixosSystem {
        modules = [
          # nixosImage.* options; lib.mkImage below picks the format.
          nixos-image-tools.nixosModules.image
          ./configuration.nix
          # The card's /etc/nixos is this flake (commit flake.lock), so
          # `nixos-rebuild switch` on the Pi rebuilds this configuration.
          { nixosImage.etcNixosSource = self.outPath; }
        ];
      };

      # nix build .#pi gives result/disk.img.zst: zstd -d it, then write it
      # to the card (dd, or any SD-card writer).
      packages.aarch64-linux.pi = nixos-image-tools.lib.mkImage {
        nixosConfiguration = self.nixosConfigurations.pi;
        format = "sd-card";
      };
    };
}
