using System.Security.Cryptography;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>
/// A complete subtree of the log: <c>2^Level</c> leaves starting at leaf <c>Index * 2^Level</c>. Level 0 is a leaf.
/// Every node the log ever stores is one of these: they never change once their last leaf is appended.
/// </summary>
public readonly record struct MerkleNode(int Level, long Index)
{
    public long Start => Index << Level;
    public long End => (Index + 1) << Level;
}

/// <summary>
/// RFC 9162 (RFC 6962) Merkle tree hashing, proofs and proof verification over any store of complete
/// subtrees. Pure: the server, the command line, the verifier and the tests all use this one copy.
/// </summary>
public static class Merkle
{
    public const int HashSize = 32;

    /// <summary>The root of the empty tree: SHA-256 of nothing.</summary>
    public static byte[] EmptyRoot => SHA256.HashData([]);

    public static byte[] LeafHash(ReadOnlySpan<byte> leaf)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData([0x00]);
        h.AppendData(leaf);
        return h.GetHashAndReset();
    }

    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[1 + 2 * HashSize];
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + HashSize)..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>The largest power of two strictly below n (n &gt; 1): where RFC 9162 splits a tree of n leaves.</summary>
    public static long SplitPoint(long n) => n < 2
        ? throw new ArgumentOutOfRangeException(nameof(n), n, "a tree of fewer than 2 leaves has no split")
        : 1L << (63 - (int)long.LeadingZeroCount(n - 1));

    /// <summary>
    /// The complete subtrees whose hashes make up MTH(D[start:end]), left to right, for the ranges that RFC
    /// 9162's recursion produces (start aligned to the enclosing power of two). For [0, n) these are the
    /// tree's frontier: one node per set bit of n.
    /// </summary>
    public static IReadOnlyList<MerkleNode> Cover(long start, long end)
    {
        var nodes = new List<MerkleNode>();
        while (start < end)
        {
            var size = end - start;
            var level = 63 - (int)long.LeadingZeroCount(size);
            if ((start & ((1L << level) - 1)) != 0)
                throw new ArgumentException($"[{start}, {end}) is not a range of the RFC 9162 recursion");
            nodes.Add(new MerkleNode(level, start >> level));
            start += 1L << level;
        }
        return nodes;
    }

    /// <summary>MTH(D[start:end]) from the hashes of its cover (as returned by <see cref="Cover"/>).</summary>
    public static byte[] RangeHash(long start, long end, Func<MerkleNode, byte[]> node)
    {
        if (start >= end) return EmptyRoot;
        var cover = Cover(start, end);
        var hash = node(cover[^1]);
        for (var i = cover.Count - 2; i >= 0; i--) hash = NodeHash(node(cover[i]), hash);
        return hash;
    }

    /// <summary>The ranges whose hashes form the inclusion proof of leaf <paramref name="index"/> in a tree of <paramref name="size"/> leaves, in proof order.</summary>
    public static IReadOnlyList<(long Start, long End)> InclusionPath(long index, long size)
    {
        if (index < 0 || index >= size) throw new ArgumentOutOfRangeException(nameof(index), index, $"not a leaf of a tree of {size}");
        var path = new List<(long, long)>();
        Inclusion(index, 0, size, path);
        return path;
    }

    private static void Inclusion(long m, long start, long end, List<(long, long)> path)
    {
        var n = end - start;
        if (n == 1) return;
        var k = SplitPoint(n);
        if (m < k)
        {
            Inclusion(m, start, start + k, path);
            path.Add((start + k, end));
        }
        else
        {
            Inclusion(m - k, start + k, end, path);
            path.Add((start, start + k));
        }
    }

    /// <summary>The ranges whose hashes form the consistency proof from a tree of <paramref name="from"/> leaves to one of <paramref name="to"/>.</summary>
    public static IReadOnlyList<(long Start, long End)> ConsistencyPath(long from, long to)
    {
        if (from < 1 || from > to) throw new ArgumentOutOfRangeException(nameof(from), from, $"need 1 <= from <= to ({to})");
        var path = new List<(long, long)>();
        if (from < to) SubProof(from, 0, to, true, path);
        return path;
    }

    private static void SubProof(long m, long start, long end, bool whole, List<(long, long)> path)
    {
        var n = end - start;
        if (m == n)
        {
            if (!whole) path.Add((start, end));
            return;
        }
        var k = SplitPoint(n);
        if (m <= k)
        {
            SubProof(m, start, start + k, whole, path);
            path.Add((start + k, end));
        }
        else
        {
            SubProof(m - k, start + k, end, false, path);
            path.Add((start, start + k));
        }
    }

    /// <summary>Every complete subtree the given ranges need: what a store must read to answer a proof.</summary>
    public static IReadOnlyCollection<MerkleNode> NodesFor(IEnumerable<(long Start, long End)> ranges) =>
        ranges.SelectMany(r => Cover(r.Start, r.End)).ToHashSet();

    /// <summary>The hashes of the given ranges, reading each complete subtree once through <paramref name="read"/>.</summary>
    public static async Task<byte[][]> ResolveAsync(
        IReadOnlyList<(long Start, long End)> ranges, NodeReader read, CancellationToken ct)
    {
        var nodes = await read(NodesFor(ranges), ct);
        return ranges.Select(r => RangeHash(r.Start, r.End, n => nodes.TryGetValue(n, out var h)
            ? h
            : throw new MissingNode(n))).ToArray();
    }

    /// <summary>RFC 9162 §2.1.3.2.</summary>
    public static bool VerifyInclusion(long index, long size, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        if (index < 0 || index >= size) return false;
        long fn = index, sn = size - 1;
        var r = leafHash.ToArray();
        foreach (var p in proof)
        {
            if (p.Length != HashSize || sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                r = NodeHash(p, r);
                while ((fn & 1) == 0 && fn != 0) { fn >>= 1; sn >>= 1; }
            }
            else r = NodeHash(r, p);
            fn >>= 1; sn >>= 1;
        }
        return sn == 0 && r.AsSpan().SequenceEqual(root);
    }

    /// <summary>RFC 9162 §2.1.4.2.</summary>
    public static bool VerifyConsistency(long from, long to, ReadOnlySpan<byte> fromRoot, ReadOnlySpan<byte> toRoot, IReadOnlyList<byte[]> proof)
    {
        if (from < 1 || from > to) return false;
        if (from == to) return proof.Count == 0 && fromRoot.SequenceEqual(toRoot);
        if (proof.Count == 0 || proof.Any(p => p.Length != HashSize)) return false;
        var path = (from & (from - 1)) == 0 ? [fromRoot.ToArray(), .. proof] : proof.ToList();
        long fn = from - 1, sn = to - 1;
        while ((fn & 1) == 1) { fn >>= 1; sn >>= 1; }
        byte[] fr = path[0], sr = path[0];
        foreach (var c in path.Skip(1))
        {
            if (sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                fr = NodeHash(c, fr);
                sr = NodeHash(c, sr);
                while ((fn & 1) == 0 && fn != 0) { fn >>= 1; sn >>= 1; }
            }
            else sr = NodeHash(sr, c);
            fn >>= 1; sn >>= 1;
        }
        return sn == 0 && fr.AsSpan().SequenceEqual(fromRoot) && sr.AsSpan().SequenceEqual(toRoot);
    }
}

/// <summary>A store could not supply a node a proof or root needs.</summary>
public sealed class MissingNode(MerkleNode node) : Exception($"no node at level {node.Level}, index {node.Index}");

/// <summary>Reads the hashes of complete subtrees from wherever a log keeps them.</summary>
public delegate Task<IReadOnlyDictionary<MerkleNode, byte[]>> NodeReader(IReadOnlyCollection<MerkleNode> nodes, CancellationToken ct);

/// <summary>
/// The right edge of a growing tree (one complete subtree per set bit of its size): appending a leaf costs
/// O(log n) and yields the nodes it completes, and the root is a fold of at most log n hashes.
/// </summary>
public sealed class MerkleFrontier
{
    private readonly List<(MerkleNode Node, byte[] Hash)> _nodes;

    public MerkleFrontier() : this(0, []) { }

    /// <param name="size">leaves so far</param>
    /// <param name="cover">the hashes of <c>Merkle.Cover(0, size)</c>, in that order</param>
    public MerkleFrontier(long size, IReadOnlyList<byte[]> cover)
    {
        var nodes = Merkle.Cover(0, size);
        if (nodes.Count != cover.Count) throw new ArgumentException($"a tree of {size} leaves has {nodes.Count} frontier nodes, not {cover.Count}");
        _nodes = nodes.Zip(cover).ToList();
        Size = size;
    }

    public long Size { get; private set; }

    /// <summary>Appends a leaf; <paramref name="completed"/> receives every node of level 1 or more it completes.</summary>
    public void Append(byte[] leafHash, Action<MerkleNode, byte[]>? completed = null)
    {
        var node = new MerkleNode(0, Size);
        var hash = leafHash;
        while (_nodes.Count > 0 && _nodes[^1].Node.Level == node.Level)
        {
            var left = _nodes[^1];
            _nodes.RemoveAt(_nodes.Count - 1);
            node = new MerkleNode(node.Level + 1, left.Node.Index >> 1);
            hash = Merkle.NodeHash(left.Hash, hash);
            completed?.Invoke(node, hash);
        }
        _nodes.Add((node, hash));
        Size++;
    }

    public byte[] Root()
    {
        if (_nodes.Count == 0) return Merkle.EmptyRoot;
        var hash = _nodes[^1].Hash;
        for (var i = _nodes.Count - 2; i >= 0; i--) hash = Merkle.NodeHash(_nodes[i].Hash, hash);
        return hash;
    }
}
