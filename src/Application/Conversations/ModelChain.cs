using Aetherra.Domain.Conversations;

namespace Aetherra.Application.Conversations;

/// <summary>How a reply was produced.</summary>
public sealed record Generation(string Provider, string? Model, bool Generated, int? TokensIn, int? TokensOut);

/// <summary>Every provider of the chain failed (or the last one timed out) before the reply could be produced.</summary>
public sealed class ReplyFailed(bool timedOut, string errorClass, string message, int turn) : Exception(message)
{
    public bool TimedOut { get; } = timedOut;
    public string ErrorClass { get; } = errorClass;
    /// <summary>The user turn, recorded before the model was called: it is kept whatever the model did.</summary>
    public int Turn { get; } = turn;
}

/// <summary>
/// Produces a reply's text, streamed piece by piece to <c>onText</c>. With no provider configured it answers
/// extractively: the recalled memories, cited, in a fixed template (<see cref="Grounding.Extractive"/>).
/// </summary>
public sealed class ModelChain
{
    public const string NoProvider = "none";

    public async Task<Generation> GenerateAsync(GroundedPrompt prompt, Func<string, ValueTask> onText, CancellationToken ct)
    {
        foreach (var chunk in Grounding.Chunks(Grounding.Extractive(prompt.Memories)))
            await onText(chunk);
        return new Generation(NoProvider, null, false, null, null);
    }
}
