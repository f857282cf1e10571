using Microsoft.Extensions.Configuration;

namespace Aetherra.Infrastructure;

/// <summary>
/// Settings read from configuration (environment variables as ops/run sets them, or appsettings).
/// </summary>
public sealed record AetherraSettings(
    string ConnectionString,
    byte[] MasterKey,
    string? AdminKeyFile,
    string? Urls)
{
    /// <summary>
    /// Whether the recall projection embeds text (AETHERRA_EMBEDDINGS=off turns it off: recall is then
    /// full-text only, and the projection catches up several times faster).
    /// </summary>
    public bool Embeddings { get; init; } = true;

    /// <summary>
    /// Rows the recall projection inserts before it analyses its tables for the planner (AETHERRA_RECALL_ANALYZE_ROWS,
    /// default 10,000); the next analysis comes after as many rows again as the table had gained by then, so a growing
    /// store is analysed a logarithmic number of times.
    /// </summary>
    public int RecallAnalyzeRows { get; init; } = 10_000;

    /// <summary>
    /// Recall's full-text match budget (AETHERRA_RECALL_MATCH_BUDGET, default 500; 0 matches every entry holding any
    /// of the query's words, as before): the query's words are matched rarest first while their entry counts add up to
    /// at most this; the commoner ones still score the matches, and match where two of them meet (docs/recall.md).
    /// </summary>
    public int RecallMatchBudget { get; init; } = 500;

    public const string Schema = "aetherra";

    public static AetherraSettings From(IConfiguration config)
    {
        var connection = config["AETHERRA_DB"] ?? config.GetConnectionString("aetherra")
            ?? throw new InvalidOperationException(
                "No database: set AETHERRA_DB to a PostgreSQL connection string (ops/run does this for you).");
        return new AetherraSettings(connection, ReadMasterKey(config), config["AETHERRA_ADMIN_KEY_FILE"], config["AETHERRA_URLS"])
        {
            Embeddings = !string.Equals(config["AETHERRA_EMBEDDINGS"], "off", StringComparison.OrdinalIgnoreCase),
            RecallAnalyzeRows = int.TryParse(config["AETHERRA_RECALL_ANALYZE_ROWS"], out var rows) && rows > 0 ? rows : 10_000,
            RecallMatchBudget = int.TryParse(config["AETHERRA_RECALL_MATCH_BUDGET"], out var budget) && budget >= 0 ? budget : 500,
        };
    }

    private static byte[] ReadMasterKey(IConfiguration config)
    {
        var text = config["AETHERRA_MASTER_KEY"];
        if (string.IsNullOrWhiteSpace(text) && config["AETHERRA_MASTER_KEY_FILE"] is { Length: > 0 } file)
            text = File.ReadAllText(file);
        if (string.IsNullOrWhiteSpace(text))
            throw new InvalidOperationException(
                "No master key: set AETHERRA_MASTER_KEY (base64 of 32 random bytes) or AETHERRA_MASTER_KEY_FILE (ops/run generates one).");
        var key = Convert.FromBase64String(text.Trim());
        return key.Length == 32 ? key : throw new InvalidOperationException("The master key must be 32 bytes (base64).");
    }
}
