window.YTD.account.part0 = [
  {
    "account" : {
      "email" : "someone@example.com",
      "createdVia" : "web",
      "username" : "nightowl_dev",
      "accountId" : "1234567890",
      "createdAt" : "2012-03-04T05:06:07.000Z",
      "accountDisplayName" : "Night Owl"
    }
  }
]
