import LedgerCore
import Testing

@Suite struct SHA256Tests {
    /// FIPS 180-2 / NIST CSRC example vectors.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ])
    func matchesNISTVectors(message: String, expected: String) {
        #expect(SHA256.hex(SHA256.hash(Array(message.utf8))) == expected)
    }

    @Test func messagesAroundTheBlockBoundaryHashDifferently() {
        // 55, 56 and 64 bytes exercise the one- and two-block padding paths.
        let digests = [55, 56, 63, 64, 65].map { SHA256.hex(SHA256.hash([UInt8](repeating: 0x61, count: $0))) }
        #expect(Set(digests).count == 5)
        #expect(digests[1] == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
    }

    @Test func constantTimeEqualityComparesEveryByte() {
        #expect(SHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!SHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!SHA256.constantTimeEqual([9, 2, 3], [1, 2, 3]))
        #expect(!SHA256.constantTimeEqual([1, 2], [1, 2, 3]))
    }
}
