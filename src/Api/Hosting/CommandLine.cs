using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace Aetherra.Api.Hosting;

/// <summary>
/// The <c>aetherra</c> command line: Aetherra's verbs, and the framework's (JasperFx: codegen, db-*, describe, ...)
/// under one <c>dev</c> verb. Standard output carries only a verb's output (tables, JSON lines); the framework's
/// discovery chatter is dropped and everything else it prints goes to standard error.
/// </summary>
public static partial class CommandLine
{
    public const int Ok = 0, Failed = 1, BadUsage = 2;

    /// <summary>Machine output: JSON for files and pipes, not HTML, so '+' in base64 and non-ASCII text stay as they are.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public const string Help = """
        aetherra: the system of record for AI assistants

        usage: aetherra [VERB] [ARGS...]

          (no verb) | run          start the server (ops/run does this; see docs/operations.md)
          audit verify [--public-key BASE64 --origin ORIGIN]
                                   recompute the Merkle audit log from the stored events and check every
                                   checkpoint; prints a JSON report
          audit replay [--actor ID] [--stream ID] [--from TIME] [--to TIME] [--format table|json]
                                   print the audit trail of every tenant (json: one object per line)
          read-models list | read-models rebuild NAME [--as-of-sequence N | --as-of-time T] [--target-schema S]
                                   [--url URL] [--key KEY]
                                   the read models of a running server, or rebuild one
          events export --to FILE|- [--from-sequence N]
                                   the event log as JSON Lines with a signed trailer (docs/operations.md)
          events import --from FILE [--public-key KEY]
                                   such a file into an empty store, every projection rebuilt
          export --tenant T --out DIR [--datasets conversations,decisions,memories] [--as-of-sequence N]
                                   a reproducible training export of one tenant (docs/operations.md)
          release keygen|public-key|sign|verify ...
                                   sign or check a release manifest offline (no server needed)
          plugins keygen|sign|verify ...
                                   the plugin publisher's tool (no server needed; `aetherra plugins` for its usage)
          scripts check|sign|verify FILE ...
                                   check a .aether script, sign it for POST /scripts, or verify a signed body
                                   (no server needed; `aetherra scripts` for its usage; docs/aether.md)
          changes verify [--public-key BASE64] [--patch FILE] MANIFEST | changes sign-stage ...
                                   check a change's ship manifest offline; sign a stage verdict with a runner
                                   key (no server needed; docs/agents.md)
          mcp --stdio              serve the MCP tools over standard input and output, as the key in
                                   AETHERRA_KEY (docs/mcp.md)
          dev COMMAND ...          the framework's developer commands (codegen write, db-apply, describe, ...;
                                   `aetherra dev help` lists them)
          help                     this text

        Environment: AETHERRA_DB, AETHERRA_MASTER_KEY_FILE, AETHERRA_URLS, ... (docs/operations.md).
        Exit codes: 0 done; 1 failed (a verification that does not hold, a server that refused, or a bad
        argument to audit or read-models); 2 bad usage (an unknown verb, a bad argument to plugins).
        """;

    public enum Route { Help, Plugins, Scripts, Changes, Release, Mcp, Framework, Unknown }

    /// <summary>What to do with <paramref name="args"/>, and the arguments the framework gets.</summary>
    public static (Route Route, string[] Args) Resolve(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-') && args[0] is not ("-h" or "--help")) return (Route.Framework, args);
        return args[0].ToLowerInvariant() switch
        {
            "help" or "-h" or "--help" or "?" => (Route.Help, args),
            "plugins" => (Route.Plugins, args[1..]),
            "scripts" => (Route.Scripts, args[1..]),
            "mcp" => (Route.Mcp, args[1..]),
            "changes" => (Route.Changes, args[1..]),
            "release" => (Route.Release, args[1..]),
            "run" or "audit" or "read-models" or "events" or "export" => (Route.Framework, args),
            "dev" => (Route.Framework, args.Length == 1 ? ["help"] : args[1..]),
            // The ops/ scripts' name for it since the start; kept working, not listed.
            "codegen" => (Route.Framework, args),
            _ => (Route.Unknown, args),
        };
    }

    public static int Unknown(string verb)
    {
        Console.Error.WriteLine($"aetherra: unknown verb '{verb}'\n");
        Console.Error.WriteLine(Help);
        return BadUsage;
    }

    /// <summary>
    /// The framework prints through Spectre.Console: send that to standard error, without the lines it prints while
    /// it discovers commands ("Searching '...' for commands"), so that standard output is the verb's alone.
    /// </summary>
    public static void QuietFramework()
    {
        var filter = new DiscoveryFilter(Console.Error);
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(filter),
            // Colours only on a terminal, never into a file or a pipe.
            Ansi = Console.IsErrorRedirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = Console.IsErrorRedirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        // No wrapping, so that each discovery line arrives whole.
        AnsiConsole.Console.Profile.Width = 160;
    }

    /// <summary>Line-buffered writer that drops the framework's command discovery lines and the blank line after them.</summary>
    private sealed partial class DiscoveryFilter(TextWriter inner) : TextWriter
    {
        [System.Text.RegularExpressions.GeneratedRegex(@"\x1b\[[0-9;]*[A-Za-z]")]
        private static partial System.Text.RegularExpressions.Regex Ansi();

        private readonly StringBuilder _line = new();
        private bool _afterDiscovery;

        public override Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            if (value == '\n') { Flush(line: true); return; }
            _line.Append(value);
        }

        public override void Flush() => inner.Flush();

        private void Flush(bool line)
        {
            var text = _line.ToString().TrimEnd('\r');
            _line.Clear();
            var plain = Ansi().Replace(text, "");
            if (plain.StartsWith("Searching '", StringComparison.Ordinal) && plain.EndsWith("for commands", StringComparison.Ordinal))
            {
                _afterDiscovery = true;
                return;
            }
            if (_afterDiscovery && plain.Trim().Length == 0) return;
            _afterDiscovery = false;
            inner.WriteLine(text);
            inner.Flush();
        }
    }
}
