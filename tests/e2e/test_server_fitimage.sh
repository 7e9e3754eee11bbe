#!/usr/bin/env bash
# bootsign serve, POST /sign/fitimage as digsigserver clients send it. Every answer is
# compared byte for byte with mkimage -F (u-boot-tools) on the same input and keys, and
# checked by an independent verifier (tests/e2e/lib/fit_verify.py) that must also reject
# tampered copies. Also: bootsign sign fitimage offline, PSS and ECDSA (random, so checked
# by the verifier only), external data, and the 400s for bad requests.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
. "$BS_SRCDIR/tests/e2e/lib/fit.sh"

mkdir -p "$T/src"
cd "$T/src"
fit_inputs 300000 100000
fit_key dev
fit_key prod
fit_key ec256
fit_key ec384
fit_key k3
fit_its dev.its dev sha256,rsa2048
fit_its prod.its prod sha512,rsa4096
fit_its pss.its dev sha256,rsa2048 'padding = "pss";'
fit_its ec.its ec256 sha256,ecdsa256
fit_its ec384.its ec384 sha384,ecdsa384
fit_its k3.its k3 sha1,rsa3072
for n in dev prod pss ec ec384 k3; do fit_build "$T/src" $n.its $n.itb; done
fit_build "$T/src" dev.its ext.itb -E        # external data after the FDT
srv_start

post() { # post OUT FIELDS... -> HTTP code
	curl --silent -o "$1" -w '%{http_code}' -X POST "${@:2}" "$URL/sign/fitimage"
}

# 1. The FIT alone: the signed FIT, identical to mkimage's.
code=$(post a.itb -F "artifact=@dev.itb;type=application/octet-stream")
[ "$code" = 200 ] || srv_fail "FIT only: $code $(head -c 300 a.itb)"
fit_oracle dev.itb m-a.itb "" "" --
cmp a.itb m-a.itb || srv_fail "FIT differs from mkimage -F"
fit_oracle dev.itb m-x.itb u-boot.dtb m-x.dtb --
fit_verify_all a.itb m-x.dtb

# 2. With the control DTB and mark_required: tar.gz of fitImage + the DTB, both identical.
code=$(post b.tgz -D hb.txt -F "artifact=@dev.itb" -F "dtb=@u-boot.dtb" -F mark_required=1)
[ "$code" = 200 ] || srv_fail "FIT + DTB: $code $(head -c 300 b.tgz)"
grep -qi 'filename="signed-artifact.tar.gz"' hb.txt || srv_fail "tgz name: $(cat hb.txt)"
mkdir b && tar -C b -xzf b.tgz
[ "$(tar -tzf b.tgz | sort | tr '\n' ' ')" = "fitImage u-boot.dtb " ] ||
	srv_fail "tgz members: $(tar -tzf b.tgz)"
fit_oracle dev.itb m-b.itb u-boot.dtb m-b.dtb -- -r
cmp b/fitImage m-b.itb || srv_fail "FIT (with DTB) differs from mkimage"
cmp b/u-boot.dtb m-b.dtb || srv_fail "DTB differs from mkimage"
[ "$(fdtget b/u-boot.dtb /signature/key-dev required)" = conf ] || srv_fail "required not conf"
fit_verify_all b/fitImage b/u-boot.dtb
# the verifier is fed the wrong key: rejected
fit_oracle prod.itb m-p.itb u-boot.dtb m-p.dtb --
if $FITV b/fitImage m-p.dtb 2>/dev/null; then srv_fail "verified against another key"; fi

# 3. keyname other than dev (RSA-4096, sha512), a comment, algo override, -p offset.
code=$(post c.tgz -F "artifact=@prod.itb" -F "dtb=@u-boot.dtb" -F keyname=prod \
	-F "comment=release 42 signed by bootsign")
[ "$code" = 200 ] || srv_fail "keyname=prod: $code $(head -c 300 c.tgz)"
mkdir c && tar -C c -xzf c.tgz
fit_oracle prod.itb m-c.itb u-boot.dtb m-c.dtb -- -c "release 42 signed by bootsign"
cmp c/fitImage m-c.itb && cmp c/u-boot.dtb m-c.dtb || srv_fail "prod/comment differs"
fit_verify_all c/fitImage c/u-boot.dtb
code=$(post d.tgz -F "artifact=@dev.itb" -F "dtb=@u-boot.dtb" -F algo=sha384,rsa2048 \
	-F external_data_offset=1000)
[ "$code" = 200 ] || srv_fail "algo override: $code $(head -c 300 d.tgz)"
mkdir d && tar -C d -xzf d.tgz
fit_oracle dev.itb m-d.itb u-boot.dtb m-d.dtb -- -o sha384,rsa2048 -p 1000
cmp d/fitImage m-d.itb && cmp d/u-boot.dtb m-d.dtb || srv_fail "algo override differs"
[ "$(fdtget d/fitImage /configurations/conf-1/signature-1 algo)" = sha384,rsa2048 ] ||
	srv_fail "algo not overridden"
fit_verify_all d/fitImage d/u-boot.dtb

# 3b. Two keys, five configurations with two signatures each, an image signature: mkimage
# needs several growth steps, and the DTB grows by all of them (its sizes must match too).
python3 - <<'PY'
confs = ""
for i in range(1, 6):
    hint, alg = ("dev", "sha256,rsa2048") if i % 2 else ("prod", "sha512,rsa4096")
    confs += f"""conf-{i} {{ description = "c{i}"; kernel = "kernel-1"; fdt = "fdt-1";
        signature-1 {{ algo = "{alg}"; key-name-hint = "{hint}"; }};
        signature-2 {{ algo = "{alg}"; key-name-hint = "{hint}"; sign-images = "kernel"; }}; }};
"""
open("multi.its", "w").write(f"""/dts-v1/;
/ {{ description = "multi"; #address-cells = <1>;
 images {{
  kernel-1 {{ data = /incbin/("kernel.bin"); type = "kernel"; arch = "arm"; os = "linux";
    compression = "none"; load = <0x80000>; entry = <0x80000>;
    hash-1 {{ algo = "sha256"; }}; hash-2 {{ algo = "md5"; }};
    signature-1 {{ algo = "sha256,rsa4096"; key-name-hint = "prod"; }}; }};
  fdt-1 {{ data = /incbin/("fdt.bin"); type = "flat_dt"; arch = "arm"; compression = "none";
    hash-1 {{ algo = "sha384"; }}; }};
 }};
 configurations {{ default = "conf-1"; {confs} }};
}};
""")
PY
fit_build "$T/src" multi.its multi.itb
code=$(post f.tgz -F "artifact=@multi.itb" -F "dtb=@u-boot.dtb" -F mark_required=on)
[ "$code" = 200 ] || srv_fail "two keys: $code $(head -c 300 f.tgz)"
mkdir f && tar -C f -xzf f.tgz
fit_oracle multi.itb m-f.itb u-boot.dtb m-f.dtb -- -r
cmp f/fitImage m-f.itb && cmp f/u-boot.dtb m-f.dtb || srv_fail "two-key FIT/DTB differ"
[ $(( $(stat -c %s f/u-boot.dtb) - $(stat -c %s u-boot.dtb) )) -gt 2048 ] ||
	srv_fail "the DTB did not need several growth steps: the case tests too little"
$FITV f/fitImage f/u-boot.dtb || srv_fail "two-key FIT rejected"

# 3c. RSA-3072 with SHA-1 (mkimage still accepts it).
code=$(post g.tgz -F "artifact=@k3.itb" -F "dtb=@u-boot.dtb" -F keyname=k3)
[ "$code" = 200 ] || srv_fail "sha1,rsa3072: $code $(head -c 300 g.tgz)"
mkdir g && tar -C g -xzf g.tgz
fit_oracle k3.itb m-g.itb u-boot.dtb m-g.dtb --
cmp g/fitImage m-g.itb && cmp g/u-boot.dtb m-g.dtb || srv_fail "sha1,rsa3072 differs"
fit_verify_all g/fitImage g/u-boot.dtb

# 4. External data brought back inside, as mkimage -F does.
code=$(post e.itb -F "artifact=@ext.itb")
[ "$code" = 200 ] || srv_fail "external data: $code $(head -c 300 e.itb)"
fit_oracle ext.itb m-e.itb "" "" --
cmp e.itb m-e.itb || srv_fail "external-data FIT differs from mkimage"

# 5. RSA-PSS, ECDSA P-256 and P-384 (which mkimage 2023.01 does not know yet): random
# signatures, so the verifier decides (on mkimage's PSS output too).
for n in pss ec ec384; do
	code=$(post $n.tgz -F "artifact=@$n.itb" -F "dtb=@u-boot.dtb")
	[ "$code" = 200 ] || srv_fail "$n: $code $(head -c 300 $n.tgz)"
	mkdir $n && tar -C $n -xzf $n.tgz
	fit_verify_all $n/fitImage $n/u-boot.dtb
done
fit_oracle pss.itb m-pss.itb u-boot.dtb m-pss.dtb --
$FITV m-pss.itb m-pss.dtb || srv_fail "verifier rejects mkimage's own PSS FIT"
cmp pss/u-boot.dtb m-pss.dtb || srv_fail "PSS DTB differs from mkimage"

# 6. Offline: bootsign sign fitimage gives the server's bytes.
"$BS_BIN" sign fitimage --keys "$T/keys" --field mark_required=yes --file artifact=dev.itb \
	--file dtb=u-boot.dtb -o off.tgz 2>/dev/null || srv_fail "bootsign sign fitimage"
mkdir off && tar -C off -xzf off.tgz
cmp off/fitImage b/fitImage && cmp off/u-boot.dtb b/u-boot.dtb ||
	srv_fail "offline output differs from the server's"

# 7. Bad requests: 400 with a reason, nothing signed.
expect400() { # expect400 PATTERN FIELDS...
	local code
	code=$(post bad.txt "${@:2}")
	[ "$code" = 400 ] || srv_fail "expected 400 for ${*:2}: $code $(head -c 300 bad.txt)"
	grep -q -- "$1" bad.txt || srv_fail "400 body lacks '$1': $(cat bad.txt)"
}
expect400 "not a flattened device tree" -F "artifact=@kernel.bin"
expect400 "not a FIT" -F "artifact=@u-boot.dtb"
expect400 "is not a FIT signature algorithm" -F "artifact=@dev.itb" -F algo=sha256,rsa1024
sed 's/key-name-hint = "dev"/key-name-hint = "nokey"/' dev.its > nokey.its
fit_build "$T/src" nokey.its nokey.itb
expect400 "nokey" -F "artifact=@nokey.itb"
expect400 "keyname" -F "artifact=@dev.itb" -F "keyname=pkcs11:object=dev"
expect400 "not a key name" -F "artifact=@dev.itb" -F "keyname=../imxsign/x"
expect400 "not a boolean" -F "artifact=@dev.itb" -F mark_required=maybe
expect400 "external_data_offset" -F "artifact=@dev.itb" -F external_data_offset=zz
expect400 "DTB" -F "artifact=@dev.itb" -F "dtb=@kernel.bin"
sed 's/sha256,rsa2048/sha256,rsa3072/' dev.its > mismatch.its
fit_build "$T/src" mismatch.its mismatch.itb
expect400 "needs RSA-3072" -F "artifact=@mismatch.itb"
head -c 3000 dev.itb > trunc.itb
expect400 "malformed\|not a flattened" -F "artifact=@trunc.itb"

fit_srv_done
echo "test_server_fitimage: ok"
