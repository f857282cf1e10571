using Aetherra.Application.Recall;
using Aetherra.Infrastructure.Crypto;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Conversations;

/// <summary>
/// What a reply needs, in one singleton so that every transport (HTTP, MCP) calls the same static use case with
/// it. Replies are generated on the host's lifetime, not the request's: a client that drops mid-reply reconnects
/// to the same generation.
/// </summary>
public sealed class ConversationEngine(
    IDocumentStore store, SubjectKeyStore keys, NpgsqlDataSource dataSource, RecallQuery recall, ModelChain models,
    ReplyStreams streams, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<ConversationEngine> log,
    IServiceScopeFactory scopes)
{
    public IDocumentStore Store { get; } = store;
    public SubjectKeyStore Keys { get; } = keys;
    public NpgsqlDataSource DataSource { get; } = dataSource;
    public RecallQuery Recall { get; } = recall;
    public ModelChain Models { get; } = models;
    public ReplyStreams Streams { get; } = streams;
    public TimeProvider Clock { get; } = clock;
    public CancellationToken Stopping => lifetime.ApplicationStopping;
    public ILogger Log { get; } = log;
    /// <summary>Queues a user turn's extraction in the turn's own transaction.</summary>
    public IServiceScopeFactory Scopes { get; } = scopes;
}
