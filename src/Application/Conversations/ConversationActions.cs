namespace Aetherra.Application.Conversations;

/// <summary>Audit action names of the conversation commands (also the endpoints' operation ids).</summary>
public static class ConversationActions
{
    public const string Start = "conversation.start";
    public const string RecordTurn = "conversation.record-turn";
    public const string Reply = "conversation.reply";
    public const string Close = "conversation.close";
    public const string ConfigureProviders = "ai.configure-providers";
}

public static class ConversationLimits
{
    public const int MaxNameLength = 200;
    public const int MaxTitleLength = 500;
    public const int MaxContentLength = 16_384;
    public const int MaxPage = 200;
    public const int DefaultPage = 50;
    public const int DefaultRecall = 8;
    public const int MaxRecall = 50;

    public static bool NoControl(string? s) => s is null || !s.Any(char.IsControl);
}
