# docs/options.md from the module's option declarations, as nixpkgs'
# nixosOptionsDoc renders them (lib.optionAttrSetToDocList), but with lib
# alone, so it needs no nixpkgs checkout: `options` is an evaluated
# configuration's `options.nixosAsahi`. tests/nix/eval checks that
# docs/options.md is current; tools/update-options-doc.sh rewrites it.
{ lib, options }:
let
  docs = builtins.filter (o: o.visible && !o.internal) (lib.optionAttrSetToDocList options);
  code = v: if v._type == "literalMD" then v.text else "`${builtins.replaceStrings [ "\n" ] [ " " ] v.text}`";
  one =
    o:
    ''
      ## `${o.name}`

      ${lib.trim o.description}

      *Type:* ${o.type}${lib.optionalString (o ? default) "\n\n*Default:* ${code o.default}"}${lib.optionalString (o ? example) "\n\n*Example:* ${code o.example}"}${lib.optionalString o.readOnly "\n\n*Read only.*"}
    '';
in
''
  # Module options (`nixosAsahi.*`)

  Generated from `modules/nixos-asahi-image.nix` by `tools/update-options-doc.sh`
  (`lib/options-doc.nix`); `./test.sh` fails when this file is out of date.

''
+ builtins.concatStringsSep "\n" (map one docs)
