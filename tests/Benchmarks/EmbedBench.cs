using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Aetherra.Infrastructure.Embeddings;

namespace Aetherra.Benchmarks;

/// <summary>
/// `ops/bench embed`: the projection's embedding rate with the model's weights in fp32 (as the package ships them, calls of
/// 32 texts) beside int8 (quantized as the model loads, one text per call; AETHERRA_EMBED_PRECISION), in alternating rounds
/// over the same fresh texts, so that a loaded machine weighs on both alike. Besides the rate it reports this process's CPU
/// time per text (nothing else runs in it, so other work on the machine does not count there), and the cosine between
/// the two vectors of each text. No server, no database: the model alone.
/// </summary>
public static class EmbedBench
{
    public const string Usage = """
        aetherra-bench embed [options]   (normally run through `ops/bench embed`)

          --texts N        texts per round (default 512): synthetic memories of 8-24 words, as `recall` ingests
          --rounds N       alternating rounds (default 3); each round embeds new texts, so no cache helps
          --seed N         seed of the synthetic texts (default 42)
          --dataset FILE   also embed every memory and query of a recall dataset (shared/datasets format) both ways
                           and report the cosine between the fp32 and the int8 vector of each text (mean, minimum)
        """;

    public static int Run(string[] args)
    {
        int texts = 512, rounds = 3, seed = 42;
        string? dataset = null;
        for (var i = 0; i < args.Length; i++)
            switch (args[i])
            {
                case "--texts": texts = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dataset": dataset = args[++i]; break;
                case "--server": i++; break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "-h" or "--help" ? 0 : 2;
            }

        var data = new Synthetic(seed, 100);
        using var fp32 = new TextEmbedder(EmbeddingModel.MiniLm, precision: EmbeddingPrecision.Fp32);
        using var int8 = new TextEmbedder(EmbeddingModel.MiniLm, precision: EmbeddingPrecision.Int8);
        fp32.Warm();
        int8.Warm();
        Console.WriteLine($"{Environment.ProcessorCount} cores, load average {Machine.LoadAverage()}; {rounds} rounds of {texts} texts, " +
                          $"batch nice {int8.BatchNice}; fp32 in calls of {fp32.CallSize}, int8 in calls of {int8.CallSize}");
        var (fp32Rates, int8Rates, fp32Cpu, int8Cpu) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
        var cosines = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            var round = Enumerable.Range(r * texts, texts).Select(i => data.Content(i)).ToArray();
            float[][] a = [], b = [];
            // Alternating which goes first, so a change of load during a round falls on both.
            foreach (var int8First in r % 2 == 0 ? new[] { false, true } : [true, false])
            {
                var embedder = int8First ? int8 : fp32;
                var (rate, cpu, vectors) = Time(embedder, round);
                (int8First ? int8Rates : fp32Rates).Add(rate);
                (int8First ? int8Cpu : fp32Cpu).Add(cpu);
                if (int8First) b = vectors;
                else a = vectors;
            }
            cosines.AddRange(a.Select((v, i) => (double)TextEmbedder.Dot(v, b[i])));
            Console.WriteLine($"round {r + 1}: fp32 {fp32Rates[^1],7:F1} texts/s {fp32Cpu[^1],6:F2} ms CPU/text; " +
                              $"int8 {int8Rates[^1],7:F1} texts/s {int8Cpu[^1],6:F2} ms CPU/text; load {Machine.LoadAverage()}");
        }
        Console.WriteLine($"median: fp32 {Median(fp32Rates):F1} texts/s, {Median(fp32Cpu):F2} ms CPU/text; int8 {Median(int8Rates):F1} texts/s, " +
                          $"{Median(int8Cpu):F2} ms CPU/text (rate {Median(int8Rates) / Median(fp32Rates):F2}x, CPU per text " +
                          $"{Median(int8Cpu) / Median(fp32Cpu):F2}x); cosine fp32/int8 mean {cosines.Average():F4} min {cosines.Min():F4}; " +
                          $"load average at the end {Machine.LoadAverage()}");
        // The query path (a recall's own embedding): one text per call on the caller's thread, no cache, alternating.
        var queries = Enumerable.Range(rounds * texts, 200).Select(i => data.Content(i)).ToArray();
        var (fp32Query, int8Query) = (new List<double>(), new List<double>());
        for (var r = 0; r < 2; r++)
            foreach (var int8First in r % 2 == 0 ? new[] { false, true } : [true, false])
                (int8First ? int8Query : fp32Query).Add(QueryCpu(int8First ? int8 : fp32, queries));
        Console.WriteLine($"query embedding (EmbedOne, {queries.Length} texts, 2 alternating rounds): CPU per query fp32 " +
                          $"{string.Join(" / ", fp32Query.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} ms, int8 " +
                          $"{string.Join(" / ", int8Query.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} ms; load {Machine.LoadAverage()}");
        var worst = cosines.Min();
        if (dataset is not null)
        {
            var all = DatasetTexts(dataset);
            var x = fp32.EmbedMany(all);
            var y = int8.EmbedMany(all);
            var c = x.Select((v, i) => (double)TextEmbedder.Dot(v, y[i])).ToArray();
            var tokens = all.Average(t => t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
            Console.WriteLine($"dataset {Path.GetFileName(dataset)}: {all.Length} texts (mean {tokens:F1} words), cosine fp32/int8 mean {c.Average():F4}, " +
                              $"min {c.Min():F4}, 1st percentile {c.Order().ElementAt(c.Length / 100):F4}");
            worst = Math.Min(worst, c.Min());
        }
        // A vector far from its fp32 one means the quantization broke, not that it is slow.
        return worst > 0.9 ? 0 : 1;
    }

    private static (double Rate, double CpuMsPerText, float[][] Vectors) Time(TextEmbedder embedder, string[] texts)
    {
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var vectors = embedder.EmbedMany(texts);
        var elapsed = clock.Elapsed.TotalSeconds;
        self.Refresh();
        return (texts.Length / elapsed, (self.TotalProcessorTime - cpu).TotalMilliseconds / texts.Length, vectors);
    }

    private static double QueryCpu(TextEmbedder embedder, string[] texts)
    {
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        foreach (var t in texts) embedder.EmbedOne(t);
        self.Refresh();
        return (self.TotalProcessorTime - cpu).TotalMilliseconds / texts.Length;
    }

    /// <summary>Every distinct memory content and query text of a recall dataset (shared/datasets/README.md).</summary>
    private static string[] DatasetTexts(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var texts = new List<string>();
        foreach (var scope in doc.RootElement.GetProperty("scopes").EnumerateArray())
        {
            foreach (var m in scope.GetProperty("memories").EnumerateArray()) texts.Add(m.GetProperty("content").GetString()!);
            if (scope.TryGetProperty("queries", out var queries))
                foreach (var q in queries.EnumerateArray())
                    if (q.TryGetProperty("query", out var text) || q.TryGetProperty("text", out text)) texts.Add(text.GetString()!);
        }
        return texts.Distinct().ToArray();
    }

    private static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
}
