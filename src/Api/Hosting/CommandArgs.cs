namespace Aetherra.Api.Hosting;

/// <summary>The offline tools' arguments (`aetherra plugins|scripts VERB [--name value]... [FILE]...`).</summary>
public static class CommandArgs
{
    /// <summary>The verb (first argument), the <c>--name value</c> options and the other arguments (files), in order.</summary>
    public static (string Verb, Dictionary<string, string> Options, List<string> Files) Parse(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value");
                options[args[i][2..]] = args[++i];
            }
            else files.Add(args[i]);
        }
        return (args.Length > 0 ? args[0] : "", options, files);
    }
}
