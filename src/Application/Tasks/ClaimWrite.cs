using System.Text;
using Npgsql;

namespace Aetherra.Application.Tasks;

/// <summary>
/// A claim's writes as one statement: each write but the last a data-modifying WITH clause, the last the statement
/// itself, with the writes' own SQL and parameters (renumbered). PostgreSQL runs the same inserts and updates on the
/// same rows, under the same constraints (the events' unique stream version, which reports a version conflict, and
/// their foreign key on the stream's row, checked at the end of the statement), but starts one executor and answers
/// one statement instead of seven. MeasurementSwitches.ClaimSeparateStatements: the writes as separate statements.
/// </summary>
public static class ClaimWrite
{
    /// <summary>
    /// The writes joined into one statement. No two of a claim's writes touch the same row (one version row and one
    /// document per task, the audit stream's own rows), which the sub-statements of one statement must not.
    /// </summary>
    public static NpgsqlBatchCommand OneStatement(IReadOnlyList<NpgsqlBatchCommand> writes)
    {
        if (writes.Count == 1) return writes[0];
        var sql = new StringBuilder(writes.Sum(w => w.CommandText.Length + 16) + 8);
        var statement = new NpgsqlBatchCommand();
        for (var i = 0; i < writes.Count; i++)
        {
            var last = i == writes.Count - 1;
            sql.Append(i == 0 ? "with " : last ? " " : ", ");
            if (!last) sql.Append('w').Append(i).Append(" as (");
            Renumber(sql, writes[i].CommandText, statement.Parameters.Count);
            if (!last) sql.Append(')');
            foreach (NpgsqlParameter p in writes[i].Parameters) statement.Parameters.Add(p.Clone());
        }
        statement.CommandText = sql.ToString();
        return statement;
    }

    /// <summary>Appends <paramref name="text"/> with each positional parameter $n written as $(n + offset).</summary>
    private static void Renumber(StringBuilder into, string text, int offset)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '$' || i + 1 >= text.Length || !char.IsAsciiDigit(text[i + 1]))
            {
                into.Append(c);
                continue;
            }
            var n = 0;
            while (i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])) n = n * 10 + (text[++i] - '0');
            into.Append('$').Append(n + offset);
        }
    }
}
