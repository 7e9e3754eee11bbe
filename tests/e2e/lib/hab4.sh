# Helpers for the HAB4 end-to-end tests (sourced). Everything here is independent of
# bootsign: the PKI is made with the openssl CLI, the SRK table with srktool, the image
# with printf/dd and the CSF blob is walked with od + awk (layout per docs HAB4.md 2.3).

# hab4_pki DIR KEYTYPE  (KEYTYPE: rsa2048 | rsa4096 | p256)
# Makes DIR/crts/{CA1,SRK1..4,CSF1,IMG1,CSFX}_crt.pem, DIR/keys/*_key.pem (encrypted PKCS#8,
# AES-256-CBC) + DIR/keys/key_pass.txt, and the SRK table + fuse (srktool). CSFX is a CSF
# certificate for a fresh key, issued by SRK2 instead of SRK1.
hab4_pki() {
	local d=$1 kt=$2 gen
	case $kt in
	rsa2048) gen=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) ;;
	rsa4096) gen=(-algorithm RSA -pkeyopt rsa_keygen_bits:4096) ;;
	p256) gen=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) ;;
	*) echo "hab4_pki: unknown key type $kt" >&2; return 1 ;;
	esac
	mkdir -p "$d/crts" "$d/keys"
	chmod 700 "$d/keys"
	printf 'e2e-%s-pass\n' "$kt" > "$d/keys/key_pass.txt"
	cat > "$d/ca.cnf" <<-'EOF'
	[ req ]
	distinguished_name = dn
	prompt = no
	[ dn ]
	CN = placeholder
	[ v3_ca ]
	basicConstraints = critical,CA:true
	subjectKeyIdentifier = hash
	keyUsage = critical, keyCertSign
	[ v3_usr ]
	basicConstraints = CA:false
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid
	keyUsage = critical, digitalSignature
	EOF
	local pass="file:$d/keys/key_pass.txt" n
	for n in CA1 SRK1 SRK2 SRK3 SRK4 CSF1 IMG1 CSFX; do
		openssl genpkey "${gen[@]}" -aes-256-cbc -pass "$pass" \
			-out "$d/keys/${n}_key.pem" 2>/dev/null
	done
	openssl req -x509 -new -config "$d/ca.cnf" -extensions v3_ca -subj /CN=CA1 \
		-key "$d/keys/CA1_key.pem" -passin "$pass" -days 3650 -sha256 \
		-out "$d/crts/CA1_crt.pem"
	# issue NAME ISSUER EXTENSIONS
	_hab4_issue() {
		openssl req -new -config "$d/ca.cnf" -subj "/CN=$1" -key "$d/keys/${1}_key.pem" \
			-passin "$pass" -out "$d/$1.csr"
		openssl x509 -req -in "$d/$1.csr" -CA "$d/crts/${2}_crt.pem" \
			-CAkey "$d/keys/${2}_key.pem" -passin "$pass" \
			-set_serial "0x$(openssl rand -hex 8)" -days 3650 -sha256 \
			-extfile "$d/ca.cnf" -extensions "$3" -out "$d/crts/${1}_crt.pem" 2>/dev/null
		rm -f "$d/$1.csr"
	}
	for n in SRK1 SRK2 SRK3 SRK4; do _hab4_issue $n CA1 v3_ca; done
	_hab4_issue CSF1 SRK1 v3_usr
	_hab4_issue IMG1 SRK1 v3_usr
	_hab4_issue CSFX SRK2 v3_usr
	chmod 600 "$d"/keys/*
	(cd "$d" && srktool -h 4 -t crts/SRK_1_2_3_4_table.bin -e crts/SRK_1_2_3_4_fuse.bin \
		-d sha256 -f 1 \
		-c crts/SRK1_crt.pem,crts/SRK2_crt.pem,crts/SRK3_crt.pem,crts/SRK4_crt.pem \
		>/dev/null)
}

# le32 VALUE: four little-endian bytes on stdout
le32() {
	local v=$1
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((v & 255)) $(((v >> 8) & 255)) \
		$(((v >> 16) & 255)) $(((v >> 24) & 255)))"
}

# Image layout used by the tests: 64 KiB loaded at HAB4_BASE, IVT at 0x400, boot data at
# 0x420, entry at 0x1000, CSF area [0xC000, 0x10000).
HAB4_BASE=$((0x87800000))
HAB4_IVT=$((0x400))
HAB4_CSF=$((0xC000))
HAB4_SIZE=$((0x10000))

# hab4_image FILE: random payload with an IVT (HAB4.md 3.1) and boot data covering the
# whole 64 KiB (CSF area included); the CSF area itself is zero.
hab4_image() {
	local f=$1
	head -c $HAB4_CSF /dev/urandom > "$f"
	head -c $((HAB4_SIZE - HAB4_CSF)) /dev/zero >> "$f"
	{
		printf '\xd1\x00\x20\x41'                 # header: tag, length 32, version 4.1
		le32 $((HAB4_BASE + 0x1000))              # entry
		le32 0                                    # reserved
		le32 0                                    # dcd
		le32 $((HAB4_BASE + HAB4_IVT + 0x20))     # boot_data
		le32 $((HAB4_BASE + HAB4_IVT))            # self
		le32 $((HAB4_BASE + HAB4_CSF))            # csf
		le32 0                                    # reserved
		le32 $HAB4_BASE                           # boot data: start
		le32 $HAB4_SIZE                           # boot data: length (with the CSF)
		le32 0                                    # boot data: plugin
	} | dd of="$f" bs=1 seek=$HAB4_IVT conv=notrunc status=none
}

# hab4_csf_text SRKFILE CSFKCERT IMGCERT IMAGE: a CSF signing [base, csf offset)
hab4_csf_text() {
	cat <<-EOF
	[Header]
	    Version = 4.1
	    Hash Algorithm = sha256
	    Engine = ANY
	    Engine Configuration = 0
	    Certificate Format = X509
	    Signature Format = CMS

	[Install SRK]
	    File = "$1"
	    Source index = 0

	[Install CSFK]
	    File = "$2"

	[Authenticate CSF]

	[Install Key]
	    Verification index = 0
	    Target index = 2
	    File = "$3"

	[Authenticate Data]
	    Verification index = 2
	    Blocks = $(printf '0x%x 0x0 0x%x' $HAB4_BASE $HAB4_CSF) "$4"
	EOF
}

# hab4_walk CSFBLOB: one line per item, offsets relative to the blob:
#   hdr LEN
#   key PROTOCOL TARGET OFFSET       (Install Key; protocol 3 = SRK, 9 = X.509)
#   auth KEY OFFSET ADDR LEN ...     (Authenticate CSF / Data; decimal)
#   blob OFFSET TAG LEN              (for each offset above: the blob header found there)
hab4_walk() {
	od -An -v -tu1 "$1" | tr -s ' \n' '\n\n' | grep -v '^$' | awk '
	{ b[n++] = $1 }
	function be16(i) { return b[i] * 256 + b[i + 1] }
	function be32(i) {
		return sprintf("%.0f", ((b[i] * 256 + b[i + 1]) * 256 + b[i + 2]) * 256 + b[i + 3])
	}
	END {
		if (b[0] != 212) { print "error not a CSF"; exit 1 }
		hl = be16(1); print "hdr", hl
		i = 4
		while (i < hl) {
			t = b[i]; l = be16(i + 1)
			if (l < 4) { print "error bad command length"; exit 1 }
			if (t == 190) { print "key", b[i + 4], b[i + 7], be32(i + 8); offs[be32(i + 8)] = 1 }
			if (t == 202) {
				s = "auth " b[i + 4] " " be32(i + 8)
				for (j = i + 12; j < i + l; j += 8) s = s " " be32(j) " " be32(j + 4)
				print s; offs[be32(i + 8)] = 1
			}
			i += l
		}
		for (o in offs) print "blob", o, b[o], be16(o + 1)
	}'
}

# hab4_blob CSFBLOB OFFSET OUT: the payload of the blob at OFFSET (header stripped)
hab4_blob() {
	local len
	len=$(od -An -j $(($2 + 1)) -N2 -tu1 "$1" | awk '{print $1 * 256 + $2}')
	dd if="$1" of="$3" bs=1 skip=$(($2 + 4)) count=$((len - 4)) status=none
}
