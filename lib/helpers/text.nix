# Text for builders that have no nixpkgs lib: shell quoting, file lists.
let
  inherit (builtins)
    concatStringsSep
    replaceStrings
    attrNames
    ;
in
rec {
  # POSIX shell quoting, so the builders need no nixpkgs lib.
  shellEscape = s: "'" + replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # "name=path" lines for attrsets of files (extra ESP files), sorted by name.
  fileListText = files: concatStringsSep "" (map (n: "${n}\t${files.${n}}\n") (attrNames files));
}
