package token

// secretSealInfo derives a key unrelated to the signing-key seal's from the
// same key-encryption secret.
const secretSealInfo = "spaceauth stored-secret seal v1"

// SealSecret encrypts a stored secret other than a signing key (an identity
// provider's client secret or bind password) the way signing keys are
// sealed: AES-256-GCM under a key derived from kek, with aad binding the
// blob to its row.
func SealSecret(kek string, plain []byte, aad string) ([]byte, error) {
	return secretSealer(kek).seal(plain, aad)
}

// OpenSecret decrypts what SealSecret made for aad.
func OpenSecret(kek string, sealed []byte, aad string) ([]byte, error) {
	return secretSealer(kek).open(sealed, aad)
}

func secretSealer(kek string) *sealer { return newSealerFor(kek, secretSealInfo) }
