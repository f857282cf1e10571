namespace Aetherra.Domain.Scripts;

/// <summary>A script that does not parse or does not pass its checks: each problem with its line and column.</summary>
public sealed class ScriptRefused(IReadOnlyList<ScriptProblem> problems)
    : Exception("the script was refused: " + string.Join("; ", problems.Select(p => p.ToString())))
{
    public IReadOnlyList<ScriptProblem> Problems { get; } = problems;
}
