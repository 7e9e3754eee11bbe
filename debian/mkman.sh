#!/bin/sh
# mkman.sh BIN OUTDIR VERSION: bootsign(1) and bootsign-<command>(1) from the --help texts.
set -eu
bin=$1 out=$2 version=$3
mkdir -p "$out/wrap"
page() { # page NAME "SUBCOMMAND..." DESCRIPTION
	name=$1 sub=$2 desc=$3
	w=$out/wrap/$name
	printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$bin" "$sub" > "$w"
	chmod +x "$w"
	help2man --no-info --no-discard-stderr --version-string="$version" \
		--name="$desc" --section=1 --output="$out/$name.1" "$w"
}
page bootsign "" "code-signing server and toolkit for secure boot"
page bootsign-serve serve "run the bootsign signing server"
page bootsign-sign sign "run a server signer offline"
page bootsign-client client "sign through a bootsign server"
page bootsign-client-imx "client imx" "sign an i.MX HAB4 image through a bootsign server"
page bootsign-client-sign "client sign" "send a signing request to any bootsign endpoint"
page bootsign-hab hab "i.MX HAB4: sign a CSF, verify or dump images"
page bootsign-srk srk "build HAB4 SRK table and fuse files"
page bootsign-hsm hsm "PKCS#11 token provisioning"
page bootsign-pki pki "create a complete HAB4 PKI"
rm -rf "$out/wrap"
