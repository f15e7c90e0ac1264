window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "edit_info" : { "initial" : { "editTweetIds" : [ "1650000000000000001" ], "editableUntil" : "2023-04-23T13:00:00.000Z", "editsRemaining" : "5", "isEditEligible" : true } },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : { "hashtags" : [ ], "symbols" : [ ], "user_mentions" : [ ], "urls" : [ ] },
      "display_text_range" : [ "0", "52" ],
      "favorite_count" : "3",
      "id_str" : "1650000000000000001",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1650000000000000001",
      "created_at" : "Sun Apr 23 12:00:00 +0000 2023",
      "favorited" : false,
      "full_text" : "Shipping at 3am again &amp; loving it. #nightshift",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "id_str" : "1650000000000000002",
      "created_at" : "Mon Apr 24 01:30:00 +0000 2023",
      "in_reply_to_screen_name" : "rustlang",
      "full_text" : "@rustlang the borrow checker finally clicked for me",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "id_str" : "1650000000000000003",
      "created_at" : "Mon Apr 24 02:00:00 +0000 2023",
      "full_text" : "RT @someone: not my words",
      "lang" : "en"
    }
  }
]
