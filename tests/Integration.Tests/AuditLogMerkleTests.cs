using System.Security.Cryptography;
using Aetherra.Infrastructure.AuditLog;

namespace Aetherra.Integration.Tests;

/// <summary>The tree math alone, against RFC 9162's recursive definition: no database.</summary>
public sealed class AuditLogMerkleTests
{
    /// <summary>An in-memory log: leaves plus every node the frontier completes, exactly what the tables hold.</summary>
    private sealed class MemoryLog
    {
        public readonly List<byte[]> Leaves = [];
        public readonly Dictionary<MerkleNode, byte[]> Nodes = [];
        public readonly MerkleFrontier Frontier = new();

        public MemoryLog(int size, string seed = "leaf")
        {
            for (var i = 0; i < size; i++)
            {
                var leaf = Merkle.LeafHash(System.Text.Encoding.UTF8.GetBytes($"{seed}-{i}"));
                Leaves.Add(leaf);
                Nodes[new MerkleNode(0, i)] = leaf;
                Frontier.Append(leaf, (n, h) => Nodes[n] = h);
            }
        }

        public Task<IReadOnlyDictionary<MerkleNode, byte[]>> Read(IReadOnlyCollection<MerkleNode> wanted, CancellationToken ct) =>
            Task.FromResult<IReadOnlyDictionary<MerkleNode, byte[]>>(wanted.ToDictionary(n => n, n => Nodes[n]));

        /// <summary>MTH(D[start:end]) straight from RFC 9162 §2.1.1, recursively over the leaves.</summary>
        public byte[] Mth(int start, int end)
        {
            if (end - start == 1) return Leaves[start];
            var k = 1;
            while (k * 2 < end - start) k *= 2;
            return Merkle.NodeHash(Mth(start, start + k), Mth(start + k, end));
        }
    }

    private static readonly MemoryLog Big = new(300);

    [Fact]
    public async Task an_inclusion_proof_of_every_leaf_of_every_tree_from_1_to_300_verifies()
    {
        for (var size = 1; size <= 300; size++)
        {
            var root = Big.Mth(0, size);
            var tree = new MemoryLog(size);
            Assert.Equal(root, tree.Frontier.Root());
            for (var index = 0; index < size; index++)
            {
                var proof = await Merkle.ResolveAsync(Merkle.InclusionPath(index, size), Big.Read, default);
                Assert.True(Merkle.VerifyInclusion(index, size, Big.Leaves[index], proof, root), $"leaf {index} of {size}");
                Assert.True(proof.Length <= 64 - long.LeadingZeroCount(size - 1));
            }
        }
    }

    [Fact]
    public async Task a_consistency_proof_between_every_pair_of_trees_up_to_300_verifies()
    {
        var roots = Enumerable.Range(0, 301).Select(n => n == 0 ? Merkle.EmptyRoot : Big.Mth(0, n)).ToArray();
        for (var to = 1; to <= 300; to++)
        for (var from = 1; from <= to; from++)
        {
            var proof = await Merkle.ResolveAsync(Merkle.ConsistencyPath(from, to), Big.Read, default);
            Assert.True(Merkle.VerifyConsistency(from, to, roots[from], roots[to], proof), $"{from} -> {to}");
        }
    }

    [Fact]
    public async Task proofs_between_random_sizes_of_a_large_tree_verify()
    {
        var log = new MemoryLog(5000, "large");
        var random = new Random(6962);
        for (var i = 0; i < 200; i++)
        {
            var to = random.Next(1, 5001);
            var from = random.Next(1, to + 1);
            var index = random.Next(0, to);
            var fromRoot = await Root(log, from);
            var toRoot = await Root(log, to);
            Assert.Equal(log.Mth(0, to), toRoot);
            var consistency = await Merkle.ResolveAsync(Merkle.ConsistencyPath(from, to), log.Read, default);
            Assert.True(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, consistency), $"{from} -> {to}");
            var inclusion = await Merkle.ResolveAsync(Merkle.InclusionPath(index, to), log.Read, default);
            Assert.True(Merkle.VerifyInclusion(index, to, log.Leaves[index], inclusion, toRoot), $"{index} in {to}");
        }
    }

    private static async Task<byte[]> Root(MemoryLog log, long size) => (await Merkle.ResolveAsync([(0, size)], log.Read, default))[0];

    [Fact]
    public async Task an_inclusion_proof_fails_for_another_leaf_another_index_another_size_or_a_changed_hash()
    {
        var root = Big.Mth(0, 100);
        var proof = await Merkle.ResolveAsync(Merkle.InclusionPath(37, 100), Big.Read, default);
        Assert.True(Merkle.VerifyInclusion(37, 100, Big.Leaves[37], proof, root));

        Assert.False(Merkle.VerifyInclusion(37, 100, Big.Leaves[38], proof, root));
        Assert.False(Merkle.VerifyInclusion(36, 100, Big.Leaves[37], proof, root));
        Assert.False(Merkle.VerifyInclusion(37, 200, Big.Leaves[37], proof, root));
        Assert.False(Merkle.VerifyInclusion(37, 100, Big.Leaves[37], proof, Big.Mth(0, 99)));
        Assert.False(Merkle.VerifyInclusion(37, 100, Big.Leaves[37], proof[..^1], root));
        var flipped = proof.Select(p => p.ToArray()).ToArray();
        flipped[2][0] ^= 1;
        Assert.False(Merkle.VerifyInclusion(37, 100, Big.Leaves[37], flipped, root));
    }

    [Fact]
    public async Task a_consistency_proof_between_unrelated_trees_fails()
    {
        var other = new MemoryLog(120, "other");
        var proof = await Merkle.ResolveAsync(Merkle.ConsistencyPath(50, 120), Big.Read, default);
        Assert.True(Merkle.VerifyConsistency(50, 120, Big.Mth(0, 50), Big.Mth(0, 120), proof));

        Assert.False(Merkle.VerifyConsistency(50, 120, other.Mth(0, 50), Big.Mth(0, 120), proof));
        Assert.False(Merkle.VerifyConsistency(50, 120, Big.Mth(0, 50), other.Mth(0, 120), proof));
        var otherProof = await Merkle.ResolveAsync(Merkle.ConsistencyPath(50, 120), other.Read, default);
        Assert.False(Merkle.VerifyConsistency(50, 120, Big.Mth(0, 50), other.Mth(0, 120), otherProof));
        Assert.False(Merkle.VerifyConsistency(50, 120, Big.Mth(0, 50), Big.Mth(0, 120), []));
    }

    [Fact]
    public void leaf_and_node_hashes_follow_rfc_9162_prefixes()
    {
        Assert.Equal(SHA256.HashData([0x00, .. "abc"u8]), Merkle.LeafHash("abc"u8));
        var (l, r) = (Big.Leaves[0], Big.Leaves[1]);
        Assert.Equal(SHA256.HashData([0x01, .. l, .. r]), Merkle.NodeHash(l, r));
        Assert.Equal(Convert.FromHexString("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), Merkle.EmptyRoot);
    }

    [Fact]
    public void the_leaf_of_an_event_is_its_fixed_layout_and_changes_with_every_field()
    {
        var e = new StoredEvent(42, Guid.Parse("0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"), 3, "memory.recorded.v1", 1_750_000_000_123_456, "t-1", """{"a": 1}""");
        var bytes = new AuditLeafHasher().Bytes(e);
        Assert.Equal(
            "01" + "000000000000002A" + "0197A1B2C3D47E5F8A9B0C1D2E3F4A5B" + "0000000000000003"
            + "00000012" + Convert.ToHexString("memory.recorded.v1"u8) + "0006379DA05D4240"
            + "00000003" + Convert.ToHexString("t-1"u8) + "00000008" + Convert.ToHexString("""{"a": 1}"""u8),
            Convert.ToHexString(bytes));
        Assert.Equal(Merkle.LeafHash(bytes), AuditLeafHasher.Hash(e));
        StoredEvent[] variants =
        [
            e with { Sequence = 43 }, e with { StreamId = Guid.Empty }, e with { Version = 4 }, e with { Type = "memory.revised.v1" },
            e with { TimestampMicros = e.TimestampMicros + 1 }, e with { Tenant = "t-2" }, e with { Data = """{"a": 2}""" },
        ];
        Assert.All(variants, v => Assert.NotEqual(AuditLeafHasher.Hash(e), AuditLeafHasher.Hash(v)));
    }

    [Fact]
    public void a_checkpoint_opens_only_with_its_key_and_unaltered()
    {
        var settings = new AuditLogSettings(RandomNumberGenerator.GetBytes(32), "example.org/log", TimeSpan.FromSeconds(10), 100);
        using var signer = new AuditSigner(settings);
        var root = Big.Mth(0, 10);
        var note = signer.Sign(10, root);

        var lines = note.Split('\n');
        Assert.Equal(["example.org/log", "10", Convert.ToBase64String(root), ""], lines[..4]);
        Assert.StartsWith("\u2014 example.org/log ", lines[4]);
        Assert.Equal(signer.KeyId, Convert.FromBase64String(lines[4].Split(' ')[2])[..4]);
        Assert.Equal(SHA256.HashData([.. "example.org/log\n"u8, 0x01, .. signer.PublicKey])[..4], signer.KeyId);

        var opened = CheckpointNote.Open(note, "example.org/log", signer.PublicKey);
        Assert.NotNull(opened);
        Assert.Equal(10L, opened.TreeSize);
        Assert.Equal(root, opened.RootHash);

        Assert.Null(CheckpointNote.Open(note.Replace("\n10\n", "\n11\n"), "example.org/log", signer.PublicKey));
        Assert.Null(CheckpointNote.Open(note.Replace(Convert.ToBase64String(root), Convert.ToBase64String(Big.Mth(0, 11))), "example.org/log", signer.PublicKey));
        using var other = new AuditSigner(settings with { SigningSeed = RandomNumberGenerator.GetBytes(32) });
        Assert.Null(CheckpointNote.Open(other.Sign(10, root), "example.org/log", signer.PublicKey));
        Assert.Null(CheckpointNote.Open(note, "example.org/log", other.PublicKey));
        Assert.Null(CheckpointNote.Open(note, "another.org/log", signer.PublicKey));
    }
}
