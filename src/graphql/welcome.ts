/**
 * The document GraphiQL opens on (until a user's own tabs replace it): a newcomer's first minute,
 * runnable top to bottom. A test validates it against the schema, so it cannot go stale.
 */
export const WELCOME_DOCUMENT = `# Welcome to ZeroHour Chat's GraphQL API.
#
# Run these one after another: the ▶ button asks which operation to run.
#  1. Register (or LogIn), and copy the accessToken from the result.
#  2. Open the Headers tab below and paste {"Authorization": "Bearer <accessToken>"}:
#     every operation after this one runs as you (subscriptions too).
#  3. FindUsers, OpenChat with one of their ids, MyChats, Send, then Follow: a live subscription
#     over WebSocket. Leave it running and Send again (here or from another browser).
# The Docs panel (the book, top left) has the whole schema.

mutation Register {
  register(
    input: {
      firstName: "Ada"
      lastName: "Lovelace"
      mobileNo: "5550100"
      email: "ada@example.com"
      username: "ada"
      password: "correct horse battery staple"
      securityPhrase: "my first computer"
    }
  ) {
    accessToken
    user {
      id
      username
    }
  }
}

mutation LogIn {
  login(username: "ada", password: "correct horse battery staple") {
    accessToken
  }
}

query FindUsers {
  searchUsers(query: "a") {
    id
    username
  }
}

mutation OpenChat {
  createChat(otherUserId: "<an id from FindUsers>") {
    id
    otherUser {
      username
    }
  }
}

query MyChats {
  chats(first: 20) {
    edges {
      node {
        id
        kind
        title
        otherUser {
          username
        }
        lastMessagePreview
        lastMessageAt
      }
    }
  }
}

mutation Send {
  sendMessage(chatId: "<a chat id from MyChats>", content: "Hello!") {
    id
    createdAt
    cursor
  }
}

subscription Follow {
  chatEvents(chatId: "<the same chat id>") {
    seq
    ... on MessageAdded {
      message {
        content
        sender {
          username
        }
      }
    }
  }
}
`;
