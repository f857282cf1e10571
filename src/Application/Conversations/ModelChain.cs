using System.ClientModel;
using System.Diagnostics;
using System.Net.Http;
using System.Text.Json;
using Aetherra.Application.Ai;
using Aetherra.Domain.Conversations;
using Microsoft.Extensions.AI;
using Polly.CircuitBreaker;

namespace Aetherra.Application.Conversations;

/// <summary>How a reply was produced.</summary>
public sealed record Generation(string Provider, string? Model, bool Generated, int? TokensIn, int? TokensOut);

/// <summary>Every provider of the chain failed (or the last one timed out) before the reply could be produced.</summary>
public sealed class ReplyFailed(bool timedOut, string errorClass, string message, int turn, IReadOnlyList<ModelCall>? calls = null)
    : Exception(message)
{
    public bool TimedOut { get; } = timedOut;
    public string ErrorClass { get; } = errorClass;
    /// <summary>The user turn, recorded before the model was called: it is kept whatever the model did.</summary>
    public int Turn { get; } = turn;
    public IReadOnlyList<ModelCall> Calls { get; } = calls ?? [];
}

/// <summary>
/// Produces a reply's text, streamed piece by piece to <c>onText</c>, through the provider chain in order: a
/// provider that cannot be reached, answers 429 or 5xx, answers badly, has its breaker open, or sends no first
/// token within its timeout is passed over for the next one. Once a provider's first token is out, the reply is
/// that provider's: a stream that breaks later fails the reply (its text so far was already sent). With no provider
/// configured it answers extractively: the recalled memories, cited, in a fixed template.
/// </summary>
public sealed class ModelChain(AiProviders providers, TimeProvider clock)
{
    public const string NoProvider = "none";

    public async Task<(Generation Generation, IReadOnlyList<ModelCall> Calls)> GenerateAsync(
        GroundedPrompt prompt, Func<string, ValueTask> onText, CancellationToken ct)
    {
        var chain = await providers.CurrentAsync(ct);
        if (chain.Count == 0)
        {
            foreach (var chunk in Grounding.Chunks(Grounding.Extractive(prompt.Memories)))
                await onText(chunk);
            return (new Generation(NoProvider, null, false, null, null), []);
        }

        var messages = Messages(prompt);
        var calls = new List<ModelCall>();
        foreach (var provider in chain)
        {
            var (generation, call) = await CallAsync(provider, messages, onText, ct);
            calls.Add(call);
            if (generation is not null) return (generation, calls);
            if (call.ErrorClass == ModelErrors.BrokenStream)
                throw new ReplyFailed(false, call.ErrorClass, $"provider '{call.Provider}' broke off its reply: {call.Error}", 0, calls);
        }
        var last = calls[^1];
        throw new ReplyFailed(last.ErrorClass == ModelErrors.Timeout, last.ErrorClass!,
            "no provider answered: " + string.Join("; ", calls.Select(c => $"{c.Provider}: {c.ErrorClass} ({c.Error})")), 0, calls);
    }

    /// <summary>The time a structured (non-streamed) answer may take, on top of the provider's first-token timeout.</summary>
    public static readonly TimeSpan AnswerAllowance = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A whole JSON answer (no streaming), through the chain in order with the same fallback and breakers as a reply:
    /// the first provider that answers wins. Null with no provider configured, or when none answered.
    /// </summary>
    public async Task<(string? Answer, IReadOnlyList<ModelCall> Calls)> AskJsonAsync(
        string instructions, string message, JsonElement schema, string schemaName, CancellationToken ct)
    {
        var chain = await providers.CurrentAsync(ct);
        var calls = new List<ModelCall>();
        List<ChatMessage> messages = [new(ChatRole.System, instructions), new(ChatRole.User, message)];
        foreach (var provider in chain)
        {
            var p = provider.Settings;
            var started = clock.GetTimestamp();
            using var call = CancellationTokenSource.CreateLinkedTokenSource(ct);
            try
            {
                var response = await provider.Breaker.ExecuteAsync(async token =>
                {
                    call.CancelAfter(provider.FirstTokenTimeout + AnswerAllowance);
                    try
                    {
                        return await provider.Client.GetResponseAsync(messages, new ChatOptions
                        {
                            ModelId = p.Model, Temperature = 0, ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, schemaName),
                        }, call.Token);
                    }
                    catch (Exception error) when (error is not ModelCallFailed)
                    {
                        throw Classify(error, ct, call.Token);
                    }
                }, ct);
                var elapsed = clock.GetElapsedTime(started).TotalMilliseconds;
                calls.Add(new ModelCall(p.Name, p.Model, true, elapsed, elapsed, (int?)response.Usage?.InputTokenCount,
                    (int?)response.Usage?.OutputTokenCount, null, null));
                return (response.Text, calls);
            }
            catch (BrokenCircuitException)
            {
                calls.Add(new ModelCall(p.Name, p.Model, false, clock.GetElapsedTime(started).TotalMilliseconds, null, null, null,
                    ModelErrors.CircuitOpen, "the provider's circuit breaker is open after repeated failures"));
            }
            catch (ModelCallFailed failed)
            {
                calls.Add(new ModelCall(p.Name, p.Model, false, clock.GetElapsedTime(started).TotalMilliseconds, null, null, null,
                    failed.ErrorClass, failed.Message));
            }
        }
        return (null, calls);
    }

    private async Task<(Generation?, ModelCall)> CallAsync(
        ConfiguredProvider provider, IReadOnlyList<ChatMessage> messages, Func<string, ValueTask> onText, CancellationToken ct)
    {
        var p = provider.Settings;
        var started = clock.GetTimestamp();
        double Elapsed() => clock.GetElapsedTime(started).TotalMilliseconds;
        using var call = CancellationTokenSource.CreateLinkedTokenSource(ct);
        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        string? first = null;
        double? firstTokenMs = null;
        long? tokensIn = null, tokensOut = null;
        try
        {
            try
            {
                // Up to the first token inside the breaker: that is what decides whether the provider is healthy.
                (updates, first) = await provider.Breaker.ExecuteAsync(async token =>
                {
                    call.CancelAfter(provider.FirstTokenTimeout);
                    var e = provider.Client.GetStreamingResponseAsync(messages, new ChatOptions { ModelId = p.Model }, call.Token)
                        .GetAsyncEnumerator(call.Token);
                    try
                    {
                        while (await e.MoveNextAsync())
                        {
                            Usage(e.Current, ref tokensIn, ref tokensOut);
                            if (e.Current.Text is { Length: > 0 } text) return (e, text);
                        }
                        return (e, "");
                    }
                    catch (Exception error) when (error is not ModelCallFailed)
                    {
                        await e.DisposeAsync();
                        throw Classify(error, ct, call.Token);
                    }
                }, ct);
            }
            catch (BrokenCircuitException)
            {
                return (null, Failed(ModelErrors.CircuitOpen, "the provider's circuit breaker is open after repeated failures"));
            }
            catch (ModelCallFailed failed)
            {
                return (null, Failed(failed.ErrorClass, failed.Message));
            }

            // The reply is this provider's now: no first-token timeout any more, only the caller's.
            call.CancelAfter(Timeout.InfiniteTimeSpan);
            firstTokenMs = Elapsed();
            var count = 0;
            if (first.Length > 0)
            {
                await onText(first);
                count++;
            }
            try
            {
                while (await updates.MoveNextAsync())
                {
                    Usage(updates.Current, ref tokensIn, ref tokensOut);
                    if (updates.Current.Text is { Length: > 0 } text)
                    {
                        await onText(text);
                        count++;
                    }
                }
            }
            catch (Exception error) when (!ct.IsCancellationRequested)
            {
                return (null, Failed(ModelErrors.BrokenStream, Classify(error, ct, call.Token).Message));
            }
            var generation = new Generation(p.Name, p.Model, true, (int?)tokensIn, (int?)(tokensOut ?? count));
            return (generation, new ModelCall(p.Name, p.Model, true, Elapsed(), firstTokenMs, generation.TokensIn, generation.TokensOut, null, null));
        }
        finally
        {
            if (updates is not null) await updates.DisposeAsync();
        }

        ModelCall Failed(string errorClass, string error) =>
            new(p.Name, p.Model, false, Elapsed(), firstTokenMs, (int?)tokensIn, (int?)tokensOut, errorClass, error);
    }

    private static void Usage(ChatResponseUpdate update, ref long? tokensIn, ref long? tokensOut)
    {
        foreach (var usage in update.Contents.OfType<UsageContent>())
        {
            tokensIn = usage.Details.InputTokenCount ?? tokensIn;
            tokensOut = usage.Details.OutputTokenCount ?? tokensOut;
        }
    }

    private static ModelCallFailed Classify(Exception e, CancellationToken caller, CancellationToken call) => e switch
    {
        OperationCanceledException when !caller.IsCancellationRequested && call.IsCancellationRequested =>
            new(ModelErrors.Timeout, "no first token within the provider's timeout"),
        OperationCanceledException => throw e,
        ClientResultException { Status: 429 } => new(ModelErrors.RateLimited, "the provider answered 429"),
        ClientResultException { Status: >= 500 } c => new(ModelErrors.ServerError, $"the provider answered {c.Status}"),
        ClientResultException { Status: >= 400 } c => new(ModelErrors.ClientError, $"the provider answered {c.Status}"),
        ClientResultException { InnerException: HttpRequestException h } => new(ModelErrors.Unreachable, $"the provider could not be reached ({h.HttpRequestError})"),
        HttpRequestException { StatusCode: { } status } when (int)status == 429 => new(ModelErrors.RateLimited, "the provider answered 429"),
        HttpRequestException { StatusCode: { } status } when (int)status >= 500 => new(ModelErrors.ServerError, $"the provider answered {(int)status}"),
        HttpRequestException h => new(ModelErrors.Unreachable, $"the provider could not be reached ({h.HttpRequestError})"),
        JsonException or FormatException or InvalidOperationException => new(ModelErrors.BadResponse, "the provider's answer could not be read"),
        IOException => new(ModelErrors.BrokenStream, "the provider's stream broke off"),
        _ => new(ModelErrors.BadResponse, $"the provider's answer failed ({e.GetType().Name})"),
    };

    private static List<ChatMessage> Messages(GroundedPrompt prompt)
    {
        var messages = new List<ChatMessage> { new(ChatRole.System, prompt.System) };
        foreach (var m in prompt.Messages)
            messages.Add(m.Role switch
            {
                TurnRole.Assistant => new ChatMessage(ChatRole.Assistant, m.Content),
                TurnRole.Tool => new ChatMessage(ChatRole.User, "Tool output: " + m.Content),
                _ => new ChatMessage(ChatRole.User, m.Content),
            });
        return messages;
    }
}
