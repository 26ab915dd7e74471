# What the sd-card image's FIRMWARE partition holds (nixpkgs'
# sd-image-aarch64.nix, populateFirmwareCommands): the Pi's boot firmware,
# config.txt, and U-Boot, which reads /boot/extlinux/extlinux.conf from the
# root. Used by lib.mkImage { format = "sd-card"; }, inert otherwise.
{ lib, pkgs, ... }:
let
  configTxt = pkgs.writeText "config.txt" ''
    [pi4]
    kernel=u-boot-rpi4.bin
    enable_gic=1
    armstub=armstub8-gic.bin
    disable_overscan=1
    arm_boost=1

    [all]
    arm_64bit=1
    enable_uart=1
    avoid_warnings=1
  '';
in
{
  nixosImage.sdCard.populateFirmwareCommands = lib.mkDefault ''
    (cd ${pkgs.raspberrypifw}/share/raspberrypi/boot && cp bootcode.bin fixup*.dat start*.elf "$NIX_BUILD_TOP/firmware/")
    cp ${pkgs.raspberrypifw}/share/raspberrypi/boot/bcm2711-rpi-4-b.dtb firmware/
    cp ${pkgs.ubootRaspberryPi4_64bit}/u-boot.bin firmware/u-boot-rpi4.bin
    cp ${pkgs.raspberrypi-armstubs}/armstub8-gic.bin firmware/armstub8-gic.bin
    cp ${configTxt} firmware/config.txt
  '';
}
