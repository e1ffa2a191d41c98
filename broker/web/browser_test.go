package web_test

func closeBrowser() {}
